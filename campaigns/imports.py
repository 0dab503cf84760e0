"""Unit tree xlsx import and export.

Columns: code, name, kind, parent code, population (Chinese or English
headers). Every row is checked first; if any row is bad nothing is imported
and every bad row is reported with its column and reason. Existing codes are
updated (an export imports back as "unchanged"); new units are inserted in
bulk with their tree paths computed here, so 20,000 rows do not cost 20,000
round trips.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Max, OuterRef, Subquery
from django.db.models.functions import Length, Substr
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from civportal.xlsx import ImportRejected, ImportResult, RowError, normalize_text, parse_number, read_table

from .models import Membership, Unit, User
from .scope import has_role

COLUMNS = {
    "code": ("编码", "code", "单位编码"),
    "name": ("名称", "name", "单位名称"),
    "kind": ("类型", "kind", "单位类型"),
    "parent_code": ("上级编码", "parent code", "parent_code", "上级单位编码"),
    "population": ("人口", "population", "常住人口"),
}
REQUIRED = ("code", "name", "kind", "parent_code")

KIND_WORDS = {
    Unit.Kind.CITY: {"city", "市", "城市"},
    Unit.Kind.DISTRICT: {"district", "区", "县", "区县", "区/县"},
    Unit.Kind.STREET: {"street", "街道", "乡镇", "镇", "乡"},
    Unit.Kind.COMMUNITY: {"community", "社区", "村", "社区/村"},
    Unit.Kind.GRID: {"grid", "grid cell", "网格"},
    Unit.Kind.DEPARTMENT: {"department", "部门", "市直部门", "单位"},
}
_KIND_LOOKUP = {word: kind for kind, words in KIND_WORDS.items() for word in words}


def parse_kind(value) -> str | None:
    return _KIND_LOOKUP.get(normalize_text(value).lower())


COLUMN_LABELS = {
    "code": gettext_lazy("code"),
    "name": gettext_lazy("name"),
    "kind": gettext_lazy("kind"),
    "parent_code": gettext_lazy("parent code"),
    "population": gettext_lazy("population"),
    "active": gettext_lazy("active"),
}


def _column_label(field: str) -> str:
    return str(COLUMN_LABELS[field])


def import_units(*, actor: User, upload, dry_run: bool = False) -> ImportResult:
    """Validate and apply a unit sheet. Raises ValidationError for an unreadable
    file and ImportRejected (with every row error) when any row is bad."""
    rows = read_table(upload, columns=COLUMNS, required=REQUIRED)
    errors: list[RowError] = []
    parsed: dict[str, dict] = {}
    seen_rows: dict[str, int] = {}

    def error(row: int, field: str, message: str) -> None:
        errors.append(RowError(row=row, column=_column_label(field), message=message))

    for row_number, raw in rows:
        code = normalize_text(raw.get("code"))
        name = normalize_text(raw.get("name"))
        kind = parse_kind(raw.get("kind"))
        parent_code = normalize_text(raw.get("parent_code"))
        population = None
        ok = True
        if not code:
            error(row_number, "code", _("The code is missing."))
            ok = False
        elif len(code) > 40:
            error(row_number, "code", _("The code is longer than 40 characters."))
            ok = False
        elif code in seen_rows:
            error(row_number, "code", _("Duplicate code %(code)s (also on row %(row)d).") % {"code": code, "row": seen_rows[code]})
            ok = False
        if not name:
            error(row_number, "name", _("The name is missing."))
            ok = False
        elif len(name) > 100:
            error(row_number, "name", _("The name is longer than 100 characters."))
            ok = False
        if kind is None:
            error(row_number, "kind", _("Unknown unit kind %(value)s.") % {"value": normalize_text(raw.get("kind")) or "—"})
            ok = False
        raw_population = raw.get("population")
        if normalize_text(raw_population):
            try:
                number = parse_number(raw_population, allow_suffix=("人",))
                if number < 0 or number != number.to_integral_value() or number > Decimal(2_000_000_000):
                    raise ValueError(raw_population)
                population = int(number)
            except ValueError:
                error(row_number, "population", _("The population must be a whole number of people."))
                ok = False
        if code and code not in seen_rows:
            seen_rows[code] = row_number
        if ok:
            parsed[code] = {
                "row": row_number, "code": code, "name": name, "kind": kind,
                "parent_code": parent_code, "population": population,
            }

    existing = {
        unit.code: unit
        for unit in Unit.objects.filter(code__in=set(parsed) | {r["parent_code"] for r in parsed.values()})
    }

    # Parents, kinds, cycles and the actor's rights.
    for code, item in parsed.items():
        row, parent_code = item["row"], item["parent_code"]
        if parent_code == code:
            error(row, "parent_code", _("A unit cannot be its own parent."))
            continue
        if not parent_code:
            if item["kind"] != Unit.Kind.CITY:
                error(row, "parent_code", _("Only a city may have no parent unit."))
            elif not actor.is_superuser and code not in existing:
                error(row, "parent_code", _("Only an administrator may create a new top-level city."))
            continue
        parent_item = parsed.get(parent_code)
        parent_unit = existing.get(parent_code)
        if parent_item is None and parent_unit is None:
            if parent_code in seen_rows:
                continue  # that row has its own error already
            error(row, "parent_code", _("Unknown parent code %(code)s.") % {"code": parent_code})
            continue
        parent_kind = parent_item["kind"] if parent_item else parent_unit.kind
        if not Unit.parent_kind_allowed(item["kind"], parent_kind):
            error(
                row, "kind",
                _("A %(kind)s cannot be placed under a %(parent_kind)s.")
                % {"kind": Unit.Kind(item["kind"]).label, "parent_kind": Unit.Kind(parent_kind).label},
            )
            continue
        # Walk up through the file to the first unit that already exists.
        chain, cursor = {code}, parent_code
        while cursor in parsed and cursor not in existing:
            if cursor in chain:
                error(row, "parent_code", _("The parent codes form a cycle."))
                break
            chain.add(cursor)
            cursor = parsed[cursor]["parent_code"]
        else:
            anchor = existing.get(cursor)
            if anchor is not None and not has_role(actor, anchor, [Membership.Role.SUPERVISOR]):
                error(row, "parent_code", _("You may not add or change units under %(code)s.") % {"code": cursor})
        if code in existing and not has_role(actor, existing[code], [Membership.Role.SUPERVISOR]):
            error(row, "code", _("You may not change unit %(code)s.") % {"code": code})

    if errors:
        raise ImportRejected(sorted(errors, key=lambda e: (e.row, e.column)))
    result = ImportResult()
    if dry_run:
        result.created = sum(1 for code in parsed if code not in existing)
        return result
    with transaction.atomic():
        _apply(actor=actor, parsed=parsed, existing=existing, result=result)
    return result


def _apply(*, actor: User, parsed: dict[str, dict], existing: dict[str, Unit], result: ImportResult) -> None:
    from .services import unit_move

    # Updates of existing units (fields), then moves (rare; one service call each).
    to_update, moves = [], []
    parent_paths = {u.code: u.parent_path for u in existing.values()}
    path_codes = dict(Unit.objects.filter(path__in=set(parent_paths.values())).values_list("path", "code"))
    for code, item in parsed.items():
        unit = existing.get(code)
        if unit is None:
            continue
        changed = (unit.name, unit.kind, unit.population) != (item["name"], item["kind"], item["population"])
        if changed:
            unit.name, unit.kind, unit.population = item["name"], item["kind"], item["population"]
            to_update.append(unit)
        current_parent = path_codes.get(parent_paths[code], "")
        if item["parent_code"] and current_parent != item["parent_code"]:
            moves.append((unit, item["parent_code"]))
        elif not changed:
            result.unchanged += 1
        if changed:
            result.updated += 1
    if to_update:
        bulk_update_with_history(to_update, Unit, ["name", "kind", "population"], default_user=actor)

    # New units, parents before children, paths allocated after each parent's last child.
    new_codes = [code for code in parsed if code not in existing]
    by_parent: dict[str, list[str]] = defaultdict(list)
    for code in new_codes:
        by_parent[parsed[code]["parent_code"]].append(code)
    known_paths = {code: unit.path for code, unit in existing.items()}
    last_step = _last_child_steps(
        {known_paths[c] for c in by_parent if c in known_paths} | ({""} if "" in by_parent else set())
    )
    created: list[Unit] = []
    queue = [code for code in by_parent if code in known_paths or code == ""]
    while queue:
        parent_code = queue.pop()
        parent_path = known_paths.get(parent_code, "")
        depth = len(parent_path) // Unit.steplen + 1
        step = last_step.get(parent_path, 0)
        for code in by_parent.get(parent_code, []):
            step += 1
            item = parsed[code]
            path = Unit._get_path(parent_path, depth, step)
            known_paths[code] = path
            created.append(
                Unit(path=path, depth=depth, numchild=0, code=code, name=item["name"], kind=item["kind"],
                     population=item["population"])
            )
            queue.append(code)
    if created:
        bulk_create_with_history(created, Unit, batch_size=2000, default_user=actor)
        _recount_children({unit.path[: -Unit.steplen] for unit in created if unit.depth > 1})
    result.created = len(created)

    for unit, parent_code in moves:
        unit_move(actor=actor, unit=Unit.objects.get(pk=unit.pk), new_parent=Unit.objects.get(code=parent_code))
        result.updated += 1


def _last_child_steps(parent_paths: set[str]) -> dict[str, int]:
    """For each parent path, the integer step of its last existing child (one query)."""
    if not parent_paths:
        return {}
    rows = (
        Unit.objects.annotate(parent=Substr("path", 1, Length("path") - Unit.steplen))
        .filter(parent__in=parent_paths)
        .order_by()
        .values("parent")
        .annotate(last=Max("path"))
    )
    return {row["parent"]: Unit._str2int(row["last"][-Unit.steplen:]) for row in rows}


def _recount_children(parent_paths: set[str]) -> None:
    children = (
        Unit.objects.filter(path__startswith=OuterRef("path"), depth=OuterRef("depth") + 1)
        .order_by()
        .values("depth")
        .annotate(n=Count("pk"))
        .values("n")
    )
    paths = list(parent_paths)
    for start in range(0, len(paths), 1000):
        Unit.objects.filter(path__in=paths[start : start + 1000]).update(numchild=Subquery(children))


def export_rows(queryset):
    """Rows for the unit export, in tree order; one query."""
    for unit in queryset.with_parent().order_by("path").iterator(chunk_size=2000):
        yield [unit.code, unit.name, unit.get_kind_display(), unit.parent_code or "", unit.population, unit.active]


def export_headers() -> list[str]:
    return [str(COLUMN_LABELS[name]) for name in ("code", "name", "kind", "parent_code", "population", "active")]
