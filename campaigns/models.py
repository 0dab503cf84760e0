"""Organisation: people, the unit tree and who holds which role where."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce, Length, Substr
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords
from treebeard.mp_tree import MP_Node, MP_NodeManager, MP_NodeQuerySet

from civportal.models import TimeStampedModel

from .geojson import validate_boundary
from .scope import ScopePathsModel, ScopePathsQuerySet


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
    must_change_password = models.BooleanField(
        _("must change password"), default=False,
        help_text=_("Set by a password reset: the person must choose a new password before anything else."),
    )

    objects = UserManager()
    # Account changes (created, disabled, reset, edited) are on record; never the password hash.
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

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
    boundary = models.JSONField(
        _("boundary"), null=True, blank=True, validators=[validate_boundary],
        help_text=_("Outline on the map: a GeoJSON Polygon or MultiPolygon in longitude/latitude (WGS 84)."),
    )

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


# --- plans: editions, campaigns, places, the task ledger ----------------------------------------


class IndicatorSystem(TimeStampedModel):
    """An edition of the national evaluation system (测评体系, e.g. "2021版"):
    the tree of sections, items, contents and criteria the office is judged
    by. Editions are data imported from Excel; a published edition used by an
    active campaign is frozen and changed by copying it to a new edition."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")

    name = models.CharField(_("name"), max_length=100, unique=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    effective_from = models.DateField(_("effective from"), null=True, blank=True)
    effective_until = models.DateField(_("effective until"), null=True, blank=True)
    is_sample = models.BooleanField(
        _("sample"), default=False, help_text=_("Demonstration data, not an official edition.")
    )
    description = models.TextField(_("description"), blank=True)
    copied_from = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="copies", verbose_name=_("copied from")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="created_indicator_systems", verbose_name=_("created by"),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("indicator edition")
        verbose_name_plural = _("indicator editions")
        ordering = ["-effective_from", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_until__isnull=True)
                | Q(effective_from__isnull=True)
                | Q(effective_until__gte=models.F("effective_from")),
                name="indicator_system_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PointType(TimeStampedModel):
    """A kind of evaluation place (农贸市场, 背街小巷, 公园广场 …) with the weight
    its visits carry in the monthly score."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100, unique=True)
    weight = models.DecimalField(_("weight"), max_digits=6, decimal_places=2, default=1)
    active = models.BooleanField(_("active"), default=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("point type")
        verbose_name_plural = _("point types")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class IndicatorQuerySet(models.QuerySet):
    def subtree_of(self, indicator: Indicator) -> IndicatorQuerySet:
        return self.filter(system_id=indicator.system_id, path__startswith=indicator.path)

    def leaves(self) -> IndicatorQuerySet:
        return self.filter(level=Indicator.Level.CRITERION)

    def with_rollup(self) -> IndicatorQuerySet:
        """Annotate ``total_points``: the points of the criteria under each node
        (a node's own points when it is a criterion), summed in SQL."""
        criteria = (
            Indicator.objects.filter(
                system_id=models.OuterRef("system_id"),
                path__startswith=models.OuterRef("path"),
                level=Indicator.Level.CRITERION,
            )
            .order_by()
            .values("system_id")
            .annotate(total=models.Sum("points"))
            .values("total")
        )
        return self.annotate(total_points=Coalesce(models.Subquery(criteria), models.F("points")))


class Indicator(models.Model):
    """One node of an edition: a section (版块), item (测评项目), content (测评内容)
    or criterion (测评标准). Criteria carry the points and the evaluation
    method; upper levels roll their criteria up. ``path`` is a materialized
    path (4 characters per level) so a subtree is an indexed prefix match."""

    class Level(models.TextChoices):
        SECTION = "section", _("section")
        ITEM = "item", _("item")
        CONTENT = "content", _("content")
        CRITERION = "criterion", _("criterion")

    class Method(models.TextChoices):
        FIELD = "field", _("field inspection")
        MATERIAL = "material", _("material review")
        SURVEY = "survey", _("questionnaire survey")
        ONLINE = "online", _("online check")

    LEVELS = [Level.SECTION, Level.ITEM, Level.CONTENT, Level.CRITERION]
    STEPLEN = 4

    system = models.ForeignKey(
        IndicatorSystem, on_delete=models.PROTECT, related_name="indicators", verbose_name=_("edition")
    )
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent")
    )
    path = models.CharField(_("path"), max_length=64)
    depth = models.PositiveSmallIntegerField(_("depth"))
    level = models.CharField(_("level"), max_length=20, choices=Level.choices)
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=500)
    points = models.DecimalField(_("points"), max_digits=7, decimal_places=2, default=0)
    method = models.CharField(_("evaluation method"), max_length=20, choices=Method.choices, blank=True)
    point_types = models.ManyToManyField(
        PointType, blank=True, related_name="indicators", verbose_name=_("applicable point types")
    )
    description = models.TextField(_("description"), blank=True)

    objects = IndicatorQuerySet.as_manager()

    class Meta:
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        ordering = ["system_id", "path"]
        constraints = [
            models.UniqueConstraint(fields=["system", "code"], name="indicator_code_unique_per_system"),
            # Also serves subtree lookups: system = X AND path LIKE 'p%'.
            models.UniqueConstraint(fields=["system", "path"], name="indicator_path_unique_per_system"),
            models.CheckConstraint(condition=Q(points__gte=0), name="indicator_points_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @staticmethod
    def step(position: int) -> str:
        """The path segment of the ``position``-th child (1-based), base 36."""
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        out = ""
        for _i in range(Indicator.STEPLEN):
            position, rest = divmod(position, 36)
            out = digits[rest] + out
        return out


class CampaignQuerySet(models.QuerySet):
    def visible_to(self, user) -> CampaignQuerySet:
        """Campaigns are city-wide plans: everyone with a role reads them."""
        from .scope import scope_paths

        return self if scope_paths(user) != [] else self.none()

    def active(self) -> CampaignQuerySet:
        return self.filter(status=Campaign.Status.ACTIVE)


class Campaign(TimeStampedModel):
    """A campaign period the office plans and inspects against (e.g. "2026年
    创建全国文明城市"), bound to one indicator edition."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        ACTIVE = "active", _("active")
        CLOSED = "closed", _("closed")

    name = models.CharField(_("name"), max_length=120, unique=True)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    description = models.TextField(_("description"), blank=True)
    indicator_system = models.ForeignKey(
        IndicatorSystem, on_delete=models.PROTECT, null=True, blank=True, related_name="campaigns",
        verbose_name=_("indicator edition"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="created_campaigns", verbose_name=_("created by"),
    )

    objects = CampaignQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-starts_on", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="campaign_period_ordered"),
        ]

    def __str__(self) -> str:
        return self.name


class PointQuerySet(ScopePathsQuerySet):
    # (user, WHERE before visible_to, WHERE after it): lets within() stand in for an implied scope.
    _scope = None

    def _clone(self):
        clone = super()._clone()
        clone._scope = self._scope
        return clone

    def visible_to(self, user) -> PointQuerySet:
        """Points whose territorial unit is in scope, plus those a department in
        scope supervises (the two path columns on the point itself)."""
        from .scope import path_q

        within = path_q(user, "unit_path", "department_path", nonblank=["department_path"])
        if within is None:
            return self
        scoped = self.filter(within)
        scoped._scope = (user, self.query.where.clone(), scoped.query.where.clone())
        return scoped

    def within(self, unit: Unit) -> PointQuerySet:
        """Points in ``unit``'s subtree (the path column, no join). Called on ``visible_to(user)``
        with nothing filtered since, for a unit inside the user's scope, the subtree's prefix
        replaces the scope's clause, which it implies: read together, PostgreSQL multiplies
        their selectivities (bench-1M, a district's 4,000 points estimated at 331) and sorts
        the whole district instead of walking the list's index for one page."""
        from .scope import scope_of

        points = self.all()
        if self._scope is not None:
            user, before, after = self._scope
            if self.query.where == after and scope_of(user).contains(unit):
                points.query.where = before.clone()
        points._scope = None
        return points.filter(unit_path__startswith=unit.path)

    def active(self) -> PointQuerySet:
        return self.filter(active=True)


class Point(ScopePathsModel, TimeStampedModel):
    """An evaluation place (测评点位) inspectors visit: a market, back street,
    park, school gate … It lies in a territorial unit and may have a
    supervising municipal department."""

    code = models.CharField(_("code"), max_length=40, blank=True)
    name = models.CharField(_("name"), max_length=200)
    point_type = models.ForeignKey(PointType, on_delete=models.PROTECT, related_name="points", verbose_name=_("type"))
    address = models.CharField(_("address"), max_length=300, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="points", verbose_name=_("territorial unit"))
    department = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="supervised_points",
        verbose_name=_("supervising department"),
    )
    active = models.BooleanField(_("active"), default=True)
    # Scope as columns (docs/performance.md): the territorial unit's and the supervising
    # department's paths (blank without a department).
    SCOPE_PATHS = {"unit_path": "unit", "department_path": "department"}
    unit_path = models.CharField(_("unit path"), max_length=255, blank=True, default="", editable=False)
    department_path = models.CharField(_("department path"), max_length=255, blank=True, default="", editable=False)

    objects = PointQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["unit_path", "department_path"])

    class Meta:
        verbose_name = _("evaluation point")
        verbose_name_plural = _("evaluation points")
        ordering = ["point_type_id", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["code"], condition=~Q(code=""), name="point_code_unique"),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90), name="point_latitude_range"
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="point_longitude_range",
            ),
        ]
        indexes = [
            # The point list: "active points of type T" (the unit filter uses the unit's path index).
            models.Index(fields=["point_type", "active"], name="point_type_active_idx"),
            # Wide scopes and filters (a district's points) walk the list order, checking the
            # trailing path on the index entry: about page ÷ share entries, whatever the table's size.
            models.Index(fields=["point_type", "name", "id", "unit_path"],
                         opclasses=["int8_ops", "varchar_ops", "int8_ops", "varchar_pattern_ops"],
                         name="point_order_unit_path_idx"),
            # Narrow scopes (a street, a grid): a prefix range, then a sort of the few rows.
            models.Index(fields=["unit_path", "point_type", "name", "id"],
                         opclasses=["varchar_pattern_ops", "int8_ops", "varchar_ops", "int8_ops"],
                         name="point_unit_path_order_idx"),
            models.Index(fields=["department_path"], opclasses=["varchar_pattern_ops"],
                         condition=~Q(department_path=""), name="point_dept_path_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class _AnyOf(models.Func):
    """``value = ANY(ARRAY(subquery))`` (``IN (subquery)`` on SQLite). Under an OR,
    PostgreSQL can neither index nor estimate ``IN (subquery)`` (a hashed subplan
    checked per row); an array computed once can be OR-ed with an index on the
    other branch (BitmapOr) or checked per row while walking the list's index."""

    conditional = True
    output_field = models.BooleanField()

    def as_sql(self, compiler, connection, **extra):
        value, subquery = (compiler.compile(e) for e in self.get_source_expressions())
        return f"{value[0]} IN {subquery[0]}", (*value[1], *subquery[1])

    def as_postgresql(self, compiler, connection, **extra):
        value, subquery = (compiler.compile(e) for e in self.get_source_expressions())
        return f"{value[0]} = ANY(ARRAY{subquery[0]})", (*value[1], *subquery[1])


class WorkItemQuerySet(ScopePathsQuerySet):
    def visible_to(self, user) -> WorkItemQuerySet:
        """Work items led by a unit in scope (the lead unit's path column on the
        item itself) or shared with a cooperating unit in scope."""
        from .scope import path_q, scope_q

        within = path_q(user, "unit_path")
        if within is None:
            return self
        return self.filter(within | Q(self._shared(scope_q(user, "unit__path"))))

    def involving(self, unit: Unit) -> WorkItemQuerySet:
        """Items whose lead or a cooperating unit lies in ``unit``'s subtree."""
        return self.filter(Q(unit_path__startswith=unit.path) | Q(self._shared(Q(unit__path__startswith=unit.path))))

    @staticmethod
    def _shared(units: Q) -> _AnyOf:
        """``pk`` among the items with a cooperating unit matching ``units``."""
        links = WorkItem.cooperating_units.through.objects.filter(units).values("workitem_id")
        return _AnyOf(models.F("pk"), models.Subquery(links))

    def overdue(self, today) -> WorkItemQuerySet:
        return self.filter(deadline__lt=today, status__in=WorkItem.OPEN_STATUSES)

    def not_overdue(self, today) -> WorkItemQuerySet:
        return self.exclude(deadline__lt=today, status__in=WorkItem.OPEN_STATUSES)


class WorkItem(ScopePathsModel, TimeStampedModel):
    """A line of the task breakdown ledger (任务分解台账): what a lead unit,
    helped by cooperating units, must get done for a criterion by a deadline.
    Units report progress; the campaign office verifies. Overdue is a flag
    derived from the deadline, not a status."""

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", _("not started")
        IN_PROGRESS = "in_progress", _("in progress")
        SUBMITTED = "submitted", _("submitted")
        VERIFIED = "verified", _("verified")

    OPEN_STATUSES = [Status.NOT_STARTED, Status.IN_PROGRESS]

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="work_items", verbose_name=_("campaign"))
    indicator = models.ForeignKey(
        Indicator, on_delete=models.PROTECT, null=True, blank=True, related_name="work_items",
        verbose_name=_("indicator"),
    )
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    lead_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="led_work_items", verbose_name=_("lead unit"))
    cooperating_units = models.ManyToManyField(
        Unit, blank=True, related_name="cooperating_work_items", verbose_name=_("cooperating units")
    )
    deadline = models.DateField(_("deadline"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NOT_STARTED)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="verified_work_items", verbose_name=_("verified by"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="created_work_items", verbose_name=_("created by"),
    )
    # Scope as a column (docs/performance.md): the lead unit's path. Cooperating
    # units stay a many-to-many, checked through its (small, indexed) link table.
    SCOPE_PATHS = {"unit_path": "lead_unit"}
    unit_path = models.CharField(_("unit path"), max_length=255, blank=True, default="", editable=False)

    objects = WorkItemQuerySet.as_manager()
    history = HistoricalRecords(m2m_fields=[cooperating_units], excluded_fields=["unit_path"])

    class Meta:
        verbose_name = _("work item")
        verbose_name_plural = _("work items")
        ordering = ["deadline", "id"]
        indexes = [
            # Scoped ledgers of a wide scope (a district) in list order: walked, checking the scope per row.
            models.Index(fields=["deadline", "id"], name="workitem_deadline_idx"),
            # The campaign ledger filtered by status and sorted/filtered by deadline (overdue).
            models.Index(fields=["campaign", "status", "deadline"], name="workitem_campaign_status_idx"),
            # A unit's own ledger and deadline reminders.
            models.Index(fields=["lead_unit", "deadline"], name="workitem_lead_deadline_idx"),
            # Scoped ledgers of a narrow scope: a prefix range on the path, OR-ed (BitmapOr) with the
            # items shared with it through their cooperating units.
            models.Index(fields=["unit_path", "deadline", "id"], opclasses=["varchar_pattern_ops", "date_ops", "int8_ops"],
                         name="workitem_unit_path_due_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def is_overdue(self, today) -> bool:
        return self.status in self.OPEN_STATUSES and self.deadline < today


class ProgressReport(models.Model):
    """An entry on a work item's timeline: a unit's progress note or
    submission, or the office's verification or return, with attachments."""

    class Kind(models.TextChoices):
        PROGRESS = "progress", _("progress report")
        SUBMISSION = "submission", _("submitted for verification")
        VERIFICATION = "verification", _("verified")
        RETURN = "return", _("returned")

    work_item = models.ForeignKey(
        WorkItem, on_delete=models.PROTECT, related_name="progress_reports", verbose_name=_("work item")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.PROGRESS)
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="progress_reports",
        verbose_name=_("reporting unit"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="progress_reports", verbose_name=_("author")
    )
    text = models.TextField(_("text"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("progress report")
        verbose_name_plural = _("progress reports")
        ordering = ["work_item_id", "created_at", "id"]
        indexes = [
            # "latest progress" per work item in the ledger export.
            models.Index(fields=["work_item", "-created_at"], name="progress_item_latest_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.work_item} · {self.get_kind_display()}"


def progress_attachment_path(instance: ProgressAttachment, filename: str) -> str:
    return f"work-items/{instance.report.work_item_id}/{filename}"


class ProgressAttachment(models.Model):
    """A file (document, photo, spreadsheet) backing a progress report."""

    report = models.ForeignKey(
        ProgressReport, on_delete=models.PROTECT, related_name="attachments", verbose_name=_("progress report")
    )
    file = models.FileField(_("file"), upload_to=progress_attachment_path, max_length=300)
    original_name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveIntegerField(_("size"), default=0)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["report_id", "id"]

    def __str__(self) -> str:
        return self.original_name


class ImportJob(TimeStampedModel):
    """A spreadsheet import run in the background: who started it, how far it
    got and what came of it (counts, or the row-level errors)."""

    class Kind(models.TextChoices):
        POINTS = "points", _("evaluation points")
        WORK_ITEMS = "work_items", _("work items")
        INDICATORS = "indicators", _("indicator edition")
        UNITS = "units", _("units")
        VOLUNTEERS = "volunteers", _("volunteers")
        ACCOUNTS = "accounts", _("staff accounts")
        SCORE_ENTRIES = "score_entries", _("survey and materials scores")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.QUEUED)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/", max_length=300)
    original_name = models.CharField(_("file name"), max_length=200)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    created_count = models.PositiveIntegerField(_("imported"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)  # the first ERRORS_KEPT only
    error_count = models.PositiveIntegerField(_("errors found"), default=0)
    # Every row error as xlsx, written when there are more than ERRORS_KEPT (a junk sheet can have 100k).
    report = models.FileField(_("error report"), upload_to="imports/reports/%Y/%m/", max_length=300, blank=True)
    message = models.CharField(_("message"), max_length=500, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="import_jobs", verbose_name=_("started by")
    )

    ERRORS_KEPT = 1000

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.original_name}"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)


# --- API clients (keys for external systems) ---------------------------------------------------


class ApiClientQuerySet(models.QuerySet):
    def visible_to(self, user) -> ApiClientQuerySet:
        from .scope import scope_q

        return self.filter(scope_q(user, "unit__path")).with_membership()

    def with_membership(self) -> ApiClientQuerySet:
        """Annotate whether the service user still holds an active membership
        (a key whose membership was ended is disabled; see ApiClient.state)."""
        active = Membership.objects.filter(user_id=models.OuterRef("user_id"), active=True)
        return self.annotate(has_membership=models.Exists(active))


class ApiClient(TimeStampedModel):
    """A key for an external system (the 12345 hotline platform, the digital
    city-management system, a chat bot). Like a membership it carries a role
    in a unit; requests made with the key act as a dedicated service user
    holding exactly that membership, so scope and role rules apply unchanged.
    Only a SHA-256 hash of the key is stored; the key itself is shown once."""

    # Requests authenticated with a key carry it as request.auth; the core's
    # permission checks recognise it by this mark (civportal.api.permissions.is_api_key).
    is_api_key = True

    name = models.CharField(_("name"), max_length=100)
    role = models.CharField(_("role"), max_length=20, choices=Membership.Role.choices)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="api_clients", verbose_name=_("unit"))
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_client", verbose_name=_("service user")
    )
    prefix = models.CharField(_("key prefix"), max_length=16, unique=True)
    key_hash = models.CharField(_("key hash"), max_length=64)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="revoked_api_clients", verbose_name=_("revoked by"),
    )
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="created_api_clients",
        verbose_name=_("created by"),
    )

    objects = ApiClientQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["last_used_at"])

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def state(self, now=None) -> str:
        from django.utils import timezone

        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or timezone.now()):
            return "expired"
        has_membership = getattr(self, "has_membership", None)
        if has_membership is None:
            has_membership = Membership.objects.filter(user_id=self.user_id, active=True).exists()
        if not has_membership:
            return "disabled"  # its service account's membership was ended: the key acts as nobody
        return "active"

    def get_state_display(self) -> str:
        return {"active": _("active"), "revoked": _("revoked"), "expired": _("expired"),
                "disabled": _("disabled")}[self.state()]
