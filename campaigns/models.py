"""Organisation: people, the unit tree and who holds which role where."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length, Substr
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords
from treebeard.mp_tree import MP_Node, MP_NodeManager, MP_NodeQuerySet

from civportal.models import TimeStampedModel


class User(AbstractUser):
    """A person who logs in: campaign office staff, unit clerks and heads,
    inspectors and assigned leaders. What they may see and do comes from their
    memberships, not from the account itself."""

    display_name = models.CharField(_("display name"), max_length=64, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE,
        help_text=_("Language of emails and notifications sent to this person."),
    )

    objects = UserManager()

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username


class UnitQuerySet(MP_NodeQuerySet):
    def visible_to(self, user) -> UnitQuerySet:
        """Units inside the user's scope: the union of their memberships' subtrees."""
        from .scope import scope_q

        return self.filter(scope_q(user, "path"))

    def active(self) -> UnitQuerySet:
        return self.filter(active=True)

    def subtree_of(self, unit: Unit) -> UnitQuerySet:
        return self.filter(path__startswith=unit.path)

    def with_parent(self) -> UnitQuerySet:
        """Annotate ``parent_pk`` and ``parent_code`` in the same query (the
        parent's path is this path minus one step; ``path`` is unique-indexed)."""
        parent = Unit.objects.filter(path=Substr(models.OuterRef("path"), 1, Length(models.OuterRef("path")) - Unit.steplen))
        return self.annotate(
            parent_pk=models.Subquery(parent.values("pk")[:1]),
            parent_code=models.Subquery(parent.values("code")[:1]),
        )


class UnitManager(MP_NodeManager.from_queryset(UnitQuerySet)):
    def get_queryset(self) -> UnitQuerySet:
        return UnitQuerySet(self.model, using=self._db).order_by("path")


class Unit(MP_Node, TimeStampedModel):
    """A responsibility unit (责任单位): the city, a district, street, community,
    grid cell or municipal department. Units form one tree stored as a
    materialized path, so "everything under X" is an indexed prefix match."""

    class Kind(models.TextChoices):
        CITY = "city", _("city")
        DISTRICT = "district", _("district")
        STREET = "street", _("street")
        COMMUNITY = "community", _("community")
        GRID = "grid", _("grid cell")
        DEPARTMENT = "department", _("department")

    # Which kinds may hang under which; None means "a root".
    ALLOWED_PARENT_KINDS: dict[str, set[str | None]] = {
        Kind.CITY: {None},
        Kind.DISTRICT: {Kind.CITY},
        Kind.STREET: {Kind.DISTRICT},
        Kind.COMMUNITY: {Kind.STREET},
        Kind.GRID: {Kind.COMMUNITY},
        Kind.DEPARTMENT: {Kind.CITY, Kind.DISTRICT},
    }

    steplen = 4
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    objects = UnitManager()
    history = HistoricalRecords(excluded_fields=["numchild"])

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["path"]
        indexes = [
            # Peer groups for rankings and filters: "all streets", "active districts".
            models.Index(fields=["kind", "active"], name="unit_kind_active_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def parent_kind_allowed(cls, kind: str, parent_kind: str | None) -> bool:
        return parent_kind in cls.ALLOWED_PARENT_KINDS.get(kind, set())

    @property
    def parent_path(self) -> str:
        return self.path[: -self.steplen]

    def ancestor_paths(self) -> list[str]:
        """Paths of this unit and all its ancestors, root first."""
        return [self.path[: i * self.steplen] for i in range(1, self.depth + 1)]

    def is_within(self, other: Unit) -> bool:
        return self.path.startswith(other.path)

    def parent_unit(self) -> Unit | None:
        return Unit.objects.filter(path=self.parent_path).first() if self.depth > 1 else None

    def children(self) -> UnitQuerySet:
        return Unit.objects.filter(path__startswith=self.path, depth=self.depth + 1)


class MembershipQuerySet(models.QuerySet):
    def visible_to(self, user) -> MembershipQuerySet:
        from .scope import scope_q

        return self.filter(scope_q(user, "unit__path"))

    def active(self) -> MembershipQuerySet:
        return self.filter(active=True)


class Membership(TimeStampedModel):
    """A person's role in a unit: handling clerk, head, inspector, supervisor
    (campaign office) or assigned leader. Ending a membership keeps the row,
    so who held which role when stays on record."""

    class Role(models.TextChoices):
        HANDLER = "handler", _("handling clerk")
        HEAD = "head", _("unit head")
        INSPECTOR = "inspector", _("inspector")
        SUPERVISOR = "supervisor", _("campaign office supervisor")
        LEADER = "leader", _("assigned leader")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("user")
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("unit"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    title = models.CharField(_("job title"), max_length=64, blank=True)
    active = models.BooleanField(_("active"), default=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="created_memberships", verbose_name=_("created by"),
    )

    objects = MembershipQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["unit_id", "role", "user_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "unit", "role"], condition=Q(active=True), name="membership_one_active_role"
            ),
        ]
        indexes = [
            # scope_paths(): "the active memberships of this user".
            models.Index(fields=["user", "active"], name="membership_user_active_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.unit} · {self.get_role_display()}"
