"""Volunteer xlsx import and export.

Columns: name, mobile phone, community code, and optionally gender, birth
year, ID card number, skills and team name (Chinese or English headers).
Every row is checked first; if any row is bad nothing is imported and every
bad row is reported. Good sheets are inserted in bulk (with history rows),
as active volunteers registered by the office.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from simple_history.utils import bulk_create_with_history

from campaigns.models import Unit, User
from campaigns.scope import has_role
from civportal.xlsx import ImportRejected, ImportResult, RowError, normalize_text, parse_number, read_table

from . import privacy, tally
from .models import Team, Volunteer
from .services import _ID_NUMBER, _PHONE, MANAGER_ROLES, normalize_phone

COLUMNS = {
    "name": ("姓名", "name"),
    "phone": ("手机号", "手机", "联系电话", "phone", "mobile"),
    "unit_code": ("社区编码", "所属社区编码", "community code", "community_code"),
    "gender": ("性别", "gender"),
    "birth_year": ("出生年份", "birth year", "birth_year"),
    "id_number": ("身份证号", "身份证号码", "id number", "id_number"),
    "skills": ("特长", "技能", "skills"),
    "team": ("服务队", "志愿服务队", "team"),
}
REQUIRED = ("name", "phone", "unit_code")

COLUMN_LABELS = {
    "name": pgettext_lazy("person", "name"),
    "phone": gettext_lazy("mobile phone"),
    "unit_code": gettext_lazy("community code"),
    "gender": gettext_lazy("gender"),
    "birth_year": gettext_lazy("birth year"),
    "id_number": gettext_lazy("ID card number"),
    "skills": gettext_lazy("skills"),
    "team": gettext_lazy("team"),
}
GENDER_WORDS = {
    "男": Volunteer.Gender.MALE, "male": Volunteer.Gender.MALE, "m": Volunteer.Gender.MALE,
    "女": Volunteer.Gender.FEMALE, "female": Volunteer.Gender.FEMALE, "f": Volunteer.Gender.FEMALE,
}


def import_volunteers(*, actor: User, upload) -> ImportResult:
    """Validate and insert a volunteer sheet. Raises ValidationError for an
    unreadable file and ImportRejected (with every row error) when any row is bad."""
    rows = read_table(upload, columns=COLUMNS, required=REQUIRED)
    errors: list[RowError] = []

    def error(row: int, field: str, message: str) -> None:
        errors.append(RowError(row=row, column=str(COLUMN_LABELS[field]), message=message))

    codes = {normalize_text(raw.get("unit_code")) for _row, raw in rows}
    units = {unit.code: unit for unit in Unit.objects.filter(code__in=codes)}
    phones = {normalize_phone(normalize_text(raw.get("phone"))) for _row, raw in rows}
    taken = set(
        Volunteer.objects.filter(phone__in=phones).exclude(status=Volunteer.Status.REJECTED).values_list("phone", flat=True)
    )
    team_names = {normalize_text(raw.get("team")) for _row, raw in rows} - {""}
    teams: dict[str, Team] = {}
    for team in Team.objects.visible_to(actor).filter(name__in=team_names, active=True).select_related("unit"):
        teams.setdefault(team.name, team)
    seen: dict[str, int] = {}
    this_year = timezone.localdate().year
    new: list[Volunteer] = []

    for row, raw in rows:
        name = normalize_text(raw.get("name"))
        phone = normalize_phone(normalize_text(raw.get("phone")))
        code = normalize_text(raw.get("unit_code"))
        ok = True
        if not name:
            error(row, "name", _("The name is missing."))
            ok = False
        elif len(name) > 50:
            error(row, "name", _("The name is longer than 50 characters."))
            ok = False
        if not _PHONE.fullmatch(phone):
            error(row, "phone", _("Not a valid 11-digit mainland mobile number."))
            ok = False
        elif phone in seen:
            error(row, "phone", _("Duplicate phone number (also on row %(row)d).") % {"row": seen[phone]})
            ok = False
        elif phone in taken:
            error(row, "phone", _("This phone number is already registered as a volunteer."))
            ok = False
        else:
            seen[phone] = row
        unit = units.get(code)
        if unit is None:
            error(row, "unit_code", _("Unknown unit code %(code)s.") % {"code": code or "—"})
            ok = False
        elif unit.kind != Unit.Kind.COMMUNITY or not unit.active:
            error(row, "unit_code", _("%(code)s is not an active community.") % {"code": code})
            ok = False
        elif not has_role(actor, unit, MANAGER_ROLES):
            error(row, "unit_code", _("You may not register volunteers in %(code)s.") % {"code": code})
            ok = False
        gender = ""
        if normalize_text(raw.get("gender")):
            gender = GENDER_WORDS.get(normalize_text(raw.get("gender")).lower(), None)
            if gender is None:
                error(row, "gender", _("Write 男 or 女."))
                ok = False
        birth_year = None
        if normalize_text(raw.get("birth_year")):
            try:
                number = parse_number(raw.get("birth_year"), allow_suffix=("年",))
                if number != number.to_integral_value() or not Decimal(1900) <= number <= this_year:
                    raise ValueError(number)
                birth_year = int(number)
            except ValueError:
                error(row, "birth_year", _("Enter a birth year between 1900 and %(year)d.") % {"year": this_year})
                ok = False
        id_number = normalize_text(raw.get("id_number")).upper()
        if id_number and not _ID_NUMBER.fullmatch(id_number):
            error(row, "id_number", _("An ID card number has 18 characters: 17 digits and a digit or X."))
            ok = False
        skills = normalize_text(raw.get("skills"))
        if len(skills) > 200:
            error(row, "skills", _("At most 200 characters."))
            ok = False
        team = None
        team_name = normalize_text(raw.get("team"))
        if team_name:
            team = teams.get(team_name)
            if team is None:
                error(row, "team", _("Unknown team %(name)s.") % {"name": team_name})
                ok = False
        if ok:
            new.append(Volunteer(
                name=name, phone=phone, unit=unit, gender=gender, birth_year=birth_year, id_number=id_number,
                skills=skills, team=team, status=Volunteer.Status.ACTIVE, source=Volunteer.Source.IMPORT,
                registered_on=timezone.localdate(), reviewed_by=actor, reviewed_at=timezone.now(),
            ))

    if errors:
        raise ImportRejected(sorted(errors, key=lambda e: (e.row, e.column)))
    try:
        with transaction.atomic():
            bulk_create_with_history(new, Volunteer, batch_size=2000, default_user=actor)
            tally.created(new)
    except IntegrityError as exc:  # a concurrent registration took one of the numbers
        raise ImportRejected([RowError(row=0, column=str(COLUMN_LABELS["phone"]),
                                       message=_("A phone number was registered meanwhile; try again."))]) from exc
    return ImportResult(created=len(new))


EXPORT_FIELDS = ("name", "phone", "unit_code", "community", "gender", "birth_year", "id_number", "skills", "team",
                 "status", "registered_on", "hours")


def export_headers() -> list[str]:
    labels = dict(COLUMN_LABELS, community=gettext_lazy("community"), status=gettext_lazy("status"),
                  registered_on=gettext_lazy("registered on"), hours=gettext_lazy("approved hours"))
    return [str(labels[name]) for name in EXPORT_FIELDS]


def export_rows(queryset, user):
    """Export rows with personal data masked unless the user may see it; one query."""
    from .hours import minutes_to_hours

    for v in queryset.select_related("unit", "team").with_totals().order_by("unit__path", "name", "id").iterator(
        chunk_size=2000
    ):
        yield [
            v.name, privacy.phone_for(user, v), v.unit.code, v.unit.name, v.get_gender_display(), v.birth_year,
            privacy.id_number_for(user, v), v.skills, v.team.name if v.team else "", v.get_status_display(),
            v.registered_on, float(minutes_to_hours(v.total_minutes)),
        ]
