"""Staff accounts from xlsx, and the export that imports back unchanged.

Columns: 姓名/name, 用户名/username, 手机/mobile, 邮箱/e-mail, 单位编码/unit
code, 角色/role (职务/job title optional). One row per role: a person with two
roles has two rows with the same username. Every row is checked first; if any
row is wrong nothing is imported and every wrong row is named. New accounts
get no usable password: the person sets one with "forgot password" (by
e-mail) or a supervisor resets it; 300 password hashes would take minutes.
"""

from __future__ import annotations

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from civportal.xlsx import ImportRejected, ImportResult, RowError, chunked, iter_table, normalize_text

from ..models import Membership, Unit, User
from ..scope import forget
from .selectors import manageable_users, may_assign

Role = Membership.Role
IMPORT_CHUNK = 2000  # rows checked per lookup of usernames and unit codes when a sheet streams

COLUMNS = {
    "display_name": ("姓名", "name", "full name", "display name"),
    "username": ("用户名", "username", "账号", "登录名"),
    "phone": ("手机", "mobile", "phone", "手机号", "手机号码", "电话"),
    "email": ("邮箱", "e-mail", "email", "电子邮箱"),
    "unit_code": ("单位编码", "unit code", "unit_code", "单位"),
    "role": ("角色", "role"),
    "title": ("职务", "job title", "title"),
}
REQUIRED = ("display_name", "username", "unit_code", "role")

COLUMN_LABELS = {
    "display_name": gettext_lazy("Full name"),
    "username": gettext_lazy("Username"),
    "phone": gettext_lazy("Mobile"),
    "email": gettext_lazy("E-mail"),
    "unit_code": gettext_lazy("Unit code"),
    "role": gettext_lazy("Role"),
    "title": gettext_lazy("Job title"),
    "active": gettext_lazy("Enabled"),
}
EXPORT_FIELDS = ("display_name", "username", "phone", "email", "unit_code", "role", "title", "active")

ROLE_WORDS = {
    Role.HANDLER: {"经办人", "handler"},
    Role.HEAD: {"负责人", "head", "一把手"},
    Role.INSPECTOR: {"测评员", "督查员", "inspector"},
    Role.SUPERVISOR: {"创城办", "创城办督查", "supervisor"},
    Role.LEADER: {"包保领导", "leader"},
}


def parse_role(value) -> str | None:
    text = normalize_text(value).lower()
    for role, words in ROLE_WORDS.items():
        if text in words:
            return role
    for language in ("zh-hans", "en"):
        with translation.override(language):
            for role in Role:
                if text == str(role.label).lower():
                    return role
    return None


def _label(field: str) -> str:
    return str(COLUMN_LABELS[field])


def import_accounts(*, actor: User, upload, progress=None) -> ImportResult:
    """Validate and apply an account sheet; raises ImportRejected with every row error.
    ``progress(done, total)`` (a background job's) hears every 500 checked rows."""
    # The sheet streams: rows are checked a chunk at a time, with one lookup of the
    # chunk's new usernames and unit codes, so the whole sheet is never held.
    size = [0]
    rows = iter_table(upload, columns=COLUMNS, required=REQUIRED, sized=lambda rows: size.__setitem__(0, rows))
    errors: list[RowError] = []

    def error(row: int, field: str, message: str) -> None:
        errors.append(RowError(row=row, column=_label(field), message=message))

    units: dict[str, Unit] = {}
    existing: dict[str, User] = {}
    manageable: set[int] = set()
    held: set[tuple[int, int, str]] = set()
    looked_up_names: set[str] = set()
    looked_up_codes: set[str] = set()
    people: dict[str, dict] = {}  # username -> person fields and the rows that name them
    roles: dict[tuple[str, int, str], int] = {}  # (username, unit id, role) -> first row
    validate_username = UnicodeUsernameValidator()
    done = 0
    for chunk in chunked(rows, IMPORT_CHUNK):
        codes = {normalize_text(raw.get("unit_code")) for _row, raw in chunk} - looked_up_codes - {""}
        units.update((u.code, u) for u in Unit.objects.filter(code__in=codes))
        looked_up_codes |= codes
        usernames = {normalize_text(raw.get("username")) for _row, raw in chunk} - looked_up_names - {""}
        found = list(User.objects.filter(username__in=usernames))
        looked_up_names |= usernames
        existing.update((u.username, u) for u in found)
        manageable.update(manageable_users(actor).filter(pk__in=[u.pk for u in found]).values_list("pk", flat=True))
        held.update(Membership.objects.filter(user__in=found, active=True).values_list("user_id", "unit_id", "role"))
        for row, raw in chunk:
            done += 1
            if progress is not None and done % 500 == 0:
                progress(done, max(size[0], done) * 2)  # checking, then writing
            username = normalize_text(raw.get("username"))
            person = {
                "display_name": normalize_text(raw.get("display_name")),
                "phone": normalize_text(raw.get("phone")),
                "email": normalize_text(raw.get("email")),
            }
            code, role_text, title = normalize_text(raw.get("unit_code")), raw.get("role"), normalize_text(raw.get("title"))
            ok = True
            if not username:
                error(row, "username", _("The username is missing."))
                continue
            try:
                validate_username(username)
                valid_name = len(username) <= 150
            except ValidationError:
                valid_name = False
            if not valid_name:
                error(row, "username", _("A username has at most 150 letters, digits and @ . + - _."))
                ok = False
            if not person["display_name"]:
                error(row, "display_name", _("The name is missing."))
                ok = False
            elif len(person["display_name"]) > 64:
                error(row, "display_name", _("The name is longer than 64 characters."))
                ok = False
            if person["phone"] and (len(person["phone"]) > 32 or not all(c.isdigit() or c in "+- " for c in person["phone"])):
                error(row, "phone", _("A phone number has only digits, spaces, + and -."))
                ok = False
            if person["email"]:
                try:
                    validate_email(person["email"])
                except ValidationError:
                    error(row, "email", _("Enter a valid e-mail address."))
                    ok = False
            user = existing.get(username)
            if user is not None and user.pk not in manageable:
                error(row, "username", _("The username %(username)s belongs to an account you do not manage.") % {"username": username})
                ok = False
            earlier = people.get(username)
            if earlier is not None and earlier["fields"] != person:
                error(row, "username", _("%(username)s appears on row %(row)d with another name, mobile or e-mail.")
                      % {"username": username, "row": earlier["row"]})
                ok = False
            unit = role = None
            if not code and role_text in (None, "") and user is not None:
                pass  # an existing account without a role (e.g. from an export): personal fields only
            else:
                unit = units.get(code)
                role = parse_role(role_text)
                if not code:
                    error(row, "unit_code", _("The unit code is missing."))
                    ok = False
                elif unit is None:
                    error(row, "unit_code", _("Unknown unit code %(code)s.") % {"code": code})
                    ok = False
                elif not unit.active:
                    error(row, "unit_code", _("Unit %(code)s is deactivated.") % {"code": code})
                    ok = False
                if role is None:
                    error(row, "role", _("Unknown role %(value)s.") % {"value": normalize_text(role_text) or "—"})
                    ok = False
                if unit is not None and role is not None and not may_assign(actor, unit, role):
                    error(row, "role", _("You may not give the role %(role)s in %(unit)s.")
                          % {"role": Role(role).label, "unit": unit.name})
                    ok = False
                if unit is not None and role is not None:
                    key = (username, unit.pk, role)
                    if key in roles:
                        error(row, "role", _("The same role in the same unit is also on row %(row)d.") % {"row": roles[key]})
                        ok = False
                    roles.setdefault(key, row)
            if earlier is None:
                people[username] = {"row": row, "fields": person, "roles": []}
            if ok and unit is not None:
                people[username]["roles"].append((unit, role, title))

    if errors:
        raise ImportRejected(sorted(errors, key=lambda e: (e.row, e.column)))
    result = ImportResult()
    with transaction.atomic():
        _apply(actor=actor, people=people, existing=existing, held=held, result=result)
    if progress is not None:
        progress(done * 2, done * 2)
    return result


def _apply(*, actor, people, existing, held, result: ImportResult) -> None:
    new_users, changed = [], []
    for username, item in people.items():
        fields = item["fields"]
        user = existing.get(username)
        if user is None:
            user = User(username=username, must_change_password=True, **fields)
            user.set_unusable_password()
            new_users.append(user)
        elif any(getattr(user, k) != v for k, v in fields.items()):
            for k, v in fields.items():
                setattr(user, k, v)
            changed.append(user)
    if new_users:
        bulk_create_with_history(new_users, User, batch_size=1000, default_user=actor,
                                 default_change_reason=_("account imported"))
    if changed:
        bulk_update_with_history(changed, User, ["display_name", "phone", "email"], default_user=actor,
                                 default_change_reason=_("account imported"))
    by_name = {u.username: u for u in new_users} | existing
    memberships = []
    for username, item in people.items():
        user = by_name[username]
        for unit, role, title in item["roles"]:
            if (user.pk, unit.pk, role) not in held:
                memberships.append(Membership(user=user, unit=unit, role=role, title=title, created_by=actor))
    if memberships:
        bulk_create_with_history(memberships, Membership, batch_size=1000, default_user=actor)
    new_roles = {m.user_id for m in memberships}
    result.created = len(new_users)
    result.updated = len({u.pk for u in changed} | (new_roles - {u.pk for u in new_users}))
    result.unchanged = len(people) - result.created - result.updated
    for user in existing.values():
        forget(user)


def export_headers() -> list[str]:
    return [_label(f) for f in EXPORT_FIELDS]


def export_rows(queryset):
    """One row per active role (accounts without a role: one row without unit and role); two queries."""
    users = list(queryset.order_by("username"))
    roles: dict[int, list] = {}
    for m in (Membership.objects.filter(user__in=[u.pk for u in users], active=True)
              .select_related("unit").order_by("unit__path", "role")):
        roles.setdefault(m.user_id, []).append(m)
    for user in users:
        person = [user.display_name, user.username, user.phone, user.email]
        for m in roles.get(user.pk) or [None]:
            if m is None:
                yield person + ["", "", "", user.is_active]
            else:
                yield person + [m.unit.code, m.get_role_display(), m.title, user.is_active]
