"""Indicator editions in and out of Excel.

Two layouts are read: the portal's own (one row per node: code, parent code,
name, points, method, point types; the export writes it) and the layout
offices circulate (one row per criterion; the columns 版块 / 测评项目 /
测评内容 / 测评标准 hold the upper levels in merged or repeated cells; codes
are generated). Every row is checked first; if any is bad nothing is
imported and each problem is reported with its row, column and reason.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from civportal.xlsx import ImportRejected, ImportResult, RowError, normalize_text, open_workbook, parse_number, read_table

from ..models import Indicator, IndicatorSystem, PointType, User
from .parsing import METHOD_EXPORT, PointTypeLookup, parse_method
from .services import _link_parents, require_office

PORTAL_COLUMNS = {
    "code": ("编码", "指标编码", "code"),
    "parent_code": ("上级编码", "上级指标编码", "parent code"),
    "level": ("层级", "level"),
    "name": ("名称", "指标名称", "name"),
    "points": ("分值", "points"),
    "method": ("测评方法", "method", "evaluation method"),
    "point_types": ("适用点位类型", "点位类型", "point types", "applicable point types"),
    "description": ("说明", "备注", "description"),
}
OFFICE_COLUMNS = {
    "section": ("版块", "板块", "section"),
    "item": ("测评项目", "item"),
    "content": ("测评内容", "content"),
    "criterion": ("测评标准", "criterion"),
    "points": ("分值", "points"),
    "method": ("测评方法", "method", "evaluation method"),
    "point_types": ("适用点位类型", "点位类型", "point types", "applicable point types"),
    "description": ("备注", "说明", "description", "note"),
}
LABELS = {
    "code": pgettext_lazy("xlsx column", "code"), "parent_code": pgettext_lazy("xlsx column", "parent code"), "name": pgettext_lazy("xlsx column", "name"),
    "points": pgettext_lazy("xlsx column", "points"), "method": pgettext_lazy("xlsx column", "evaluation method"),
    "point_types": pgettext_lazy("xlsx column", "applicable point types"), "description": pgettext_lazy("xlsx column", "description"),
    "section": pgettext_lazy("xlsx column", "section"), "item": pgettext_lazy("xlsx column", "item"), "content": pgettext_lazy("xlsx column", "content"),
    "criterion": pgettext_lazy("xlsx column", "criterion"), "level": pgettext_lazy("xlsx column", "level"),
}
MAX_POINTS = Decimal("99999")


@dataclass
class Node:
    row: int
    code: str
    parent_code: str
    name: str
    points: Decimal
    method: str
    point_types: list[PointType] = field(default_factory=list)
    description: str = ""


class _Errors(list):
    def add(self, row: int, column: str, message: str) -> None:
        self.append(RowError(row=row, column=str(LABELS[column]), message=message))


def _points(raw, row: int, errors: _Errors, *, required: bool) -> Decimal | None:
    if not normalize_text(raw):
        if required:
            errors.add(row, "points", _("The points are missing."))
            return None
        return Decimal(0)
    try:
        value = parse_number(raw, allow_suffix=("分",))
    except ValueError:
        errors.add(row, "points", _("%(value)s is not a number of points.") % {"value": normalize_text(raw)})
        return None
    if value < 0 or value > MAX_POINTS:
        errors.add(row, "points", _("The points must be between 0 and 99999."))
        return None
    return value.quantize(Decimal("0.01"))


def _method(raw, row: int, errors: _Errors, *, required: bool) -> str | None:
    try:
        method = parse_method(raw)
    except ValueError as exc:
        errors.add(row, "method", str(exc))
        return None
    if required and not method:
        errors.add(row, "method", _("The evaluation method is missing."))
        return None
    return method


def _point_types(raw, row: int, errors: _Errors, lookup: PointTypeLookup) -> list[PointType] | None:
    try:
        return lookup.many(raw)
    except ValueError as exc:
        errors.add(row, "point_types", str(exc))
        return None


# --- the portal layout ----------------------------------------------------------------------------


def parse_portal(rows) -> list[Node]:
    errors, nodes, seen = _Errors(), [], {}
    lookup = PointTypeLookup()
    for row, raw in rows:
        code, parent_code, name = (normalize_text(raw.get(k)) for k in ("code", "parent_code", "name"))
        ok = True
        if not code:
            errors.add(row, "code", _("The indicator code is missing."))
            ok = False
        elif len(code) > 40:
            errors.add(row, "code", _("The indicator code is longer than 40 characters."))
            ok = False
        elif code in seen:
            errors.add(row, "code", _("Duplicate indicator code %(code)s (also on row %(row)d).") % {"code": code, "row": seen[code]})
            ok = False
        else:
            seen[code] = row
        if not name:
            errors.add(row, "name", _("The indicator name is missing."))
            ok = False
        elif len(name) > 500:
            errors.add(row, "name", _("The name is longer than 500 characters."))
            ok = False
        points = _points(raw.get("points"), row, errors, required=False)
        method = _method(raw.get("method"), row, errors, required=False)
        point_types = _point_types(raw.get("point_types"), row, errors, lookup)
        if ok and None not in (points, method, point_types):
            nodes.append(Node(row, code, parent_code, name, points, method, point_types,
                              normalize_text(raw.get("description"))))
    by_code = {node.code: node for node in nodes}
    for node in nodes:
        if not node.parent_code:
            continue
        if node.parent_code == node.code:
            errors.add(node.row, "parent_code", _("An indicator cannot be its own parent."))
            continue
        if node.parent_code not in by_code:
            if node.parent_code not in seen:  # a parent on a bad row is reported there
                errors.add(node.row, "parent_code", _("Unknown parent indicator code %(code)s.") % {"code": node.parent_code})
            continue
        chain, cursor, depth = {node.code}, node.parent_code, 1
        while cursor:
            if cursor in chain:
                errors.add(node.row, "parent_code", _("The parent indicator codes form a cycle."))
                break
            chain.add(cursor)
            depth += 1
            cursor = by_code[cursor].parent_code if cursor in by_code else ""
        else:
            if depth > len(Indicator.LEVELS):
                errors.add(node.row, "parent_code", _("An edition has at most four levels (section, item, content, criterion)."))
    if not nodes and not errors:
        errors.add(1, "code", _("The sheet has no indicators."))
    if errors:
        raise ImportRejected(sorted(errors, key=lambda e: (e.row, e.column)))
    return nodes


# --- the office layout ----------------------------------------------------------------------------


def _unmerged(upload) -> io.BytesIO:
    """The workbook with every merged range filled with its top-left value (so
    read_table sees each criterion row complete)."""
    workbook = open_workbook(upload, read_only=False)
    for sheet in workbook.worksheets[:1]:
        for merged in list(sheet.merged_cells.ranges):
            value = sheet.cell(merged.min_row, merged.min_col).value
            sheet.unmerge_cells(str(merged))
            for row in sheet.iter_rows(min_row=merged.min_row, max_row=merged.max_row,
                                       min_col=merged.min_col, max_col=merged.max_col):
                for cell in row:
                    cell.value = value
    out = io.BytesIO()
    workbook.save(out)
    workbook.close()
    out.seek(0)
    return out


# Total and subtotal rows of circulated editions: "合计", "小计", "公共环境小计", "总 分", "总计：" …
_TOTAL = re.compile(r"^(?P<name>.*?)(合计|小计|总计|总分|共计|subtotal|total)[:：]?$", re.IGNORECASE)


def total_label(text: str) -> str | None:
    """For a cell of a total row, the name it totals ("" for the cells' own
    scope, e.g. "小计"; "公共环境" for "公共环境小计"); None for a node's name."""
    match = _TOTAL.match(re.sub(r"\s+", "", text))
    return None if match is None else match.group("name")


@dataclass
class _Total:
    row: int
    scope: tuple  # names of the levels it totals; () = the whole edition
    points: Decimal
    label: str


def _total_row(names: list[str]) -> tuple[int, str] | None:
    """(level, named scope) of the first total cell, or None."""
    for index, name in enumerate(names):
        label = total_label(name) if name else None
        if label is not None:
            return index, label
    return None


def _check_totals(totals: list[_Total], criteria: list, errors: _Errors) -> None:
    """Each stated total must equal the sum of the criteria under its scope."""
    for total in totals:
        under = [points for _row, key, points, *_rest in criteria
                 if points is not None and key[: len(total.scope)] == total.scope]
        if not under:
            errors.add(total.row, "points", _("The total row “%(label)s” totals no criteria.") % {"label": total.label})
            continue
        found = sum(under, Decimal(0))
        if found != total.points:
            errors.add(total.row, "points", _(
                "The total row “%(label)s” states %(stated)s points but its criteria add up to %(sum)s."
            ) % {"label": total.label, "stated": f"{total.points.normalize():f}", "sum": f"{found.normalize():f}"})


def parse_office(rows) -> list[Node]:
    """Criteria rows → nodes with generated codes (1, 1.2, 1.2.3, 1.2.3.4).
    Total and subtotal rows (合计, 小计, 总计, 总分 …) are not nodes: their stated
    points are checked against the criteria they total. The 备注 column is
    kept as the criterion's description."""
    errors, lookup = _Errors(), PointTypeLookup()
    levels = ["section", "item", "content", "criterion"]
    previous = ["", "", ""]
    children: dict[tuple, list[str]] = defaultdict(list)  # path of names -> child names, in order
    criteria: list[tuple[int, tuple, Decimal, str, list, str]] = []
    totals: list[_Total] = []
    for row, raw in rows:
        names = [normalize_text(raw.get(level)) for level in levels]
        found = _total_row(names)
        if found is not None:
            index, named = found
            scope = [names[i] or previous[i] for i in range(min(index, 3))] + ([named] if named else [])
            points = _points(raw.get("points"), row, errors, required=False)
            if points is not None and normalize_text(raw.get("points")):
                totals.append(_Total(row, tuple(scope), points, names[index]))
            continue
        # A blank upper cell repeats the row above, unless a higher level changed on this row.
        changed = False
        for index in range(3):
            if names[index]:
                changed = changed or names[index] != previous[index]
            elif changed or not previous[index]:
                errors.add(row, levels[index], _("The %(level)s is missing.") % {"level": LABELS[levels[index]]})
                names[index] = "?"
            else:
                names[index] = previous[index]
        if not names[3]:
            errors.add(row, "criterion", _("The %(level)s is missing.") % {"level": LABELS["criterion"]})
        for index, name in enumerate(names):
            if len(name) > 500:
                errors.add(row, levels[index], _("The name is longer than 500 characters."))
        points = _points(raw.get("points"), row, errors, required=True)
        method = _method(raw.get("method"), row, errors, required=True)
        point_types = _point_types(raw.get("point_types"), row, errors, lookup)
        previous = names[:3]
        key = tuple(names)
        for depth in range(4):
            siblings = children[key[:depth]]
            if key[depth] not in siblings or depth == 3:
                siblings.append(key[depth])
        criteria.append((row, key, points, method, point_types, normalize_text(raw.get("description"))))
    if not criteria and not errors:
        errors.add(1, "criterion", _("The sheet has no indicators."))
    _check_totals(totals, criteria, errors)
    if errors:
        raise ImportRejected(sorted(errors, key=lambda e: (e.row, e.column)))

    nodes: list[Node] = []
    codes: dict[tuple, str] = {(): ""}
    first_row: dict[tuple, int] = {}
    totals: dict[tuple, Decimal] = defaultdict(Decimal)
    seen_criterion: dict[tuple, int] = defaultdict(int)
    for row, key, points, method, point_types, description in criteria:
        for depth in range(3):
            prefix = key[: depth + 1]
            totals[prefix] += points
            if prefix not in codes:
                position = children[key[:depth]].index(key[depth]) + 1
                codes[prefix] = f"{codes[key[:depth]]}.{position}".lstrip(".")
                first_row[prefix] = row
                nodes.append(Node(row, codes[prefix], codes[key[:depth]], key[depth], Decimal(0), ""))
        seen_criterion[key[:3]] += 1
        code = f"{codes[key[:3]]}.{seen_criterion[key[:3]]}"
        nodes.append(Node(row, code, codes[key[:3]], key[3], points, method, point_types, description))
    by_code = {node.code: node for node in nodes}
    for prefix, total in totals.items():
        by_code[codes[prefix]].points = total
    return nodes


# --- reading and storing --------------------------------------------------------------------------


def read_nodes(upload, layout: str = "auto") -> list[Node]:
    """Parse an edition sheet in the given layout ("portal", "office" or "auto")."""
    portal_required = ("code", "parent_code", "name", "points")
    office_required = ("section", "item", "content", "criterion", "points")
    if layout == "portal":
        return parse_portal(read_table(upload, columns=PORTAL_COLUMNS, required=portal_required))
    if layout == "office":
        return parse_office(read_table(_unmerged(upload), columns=OFFICE_COLUMNS, required=office_required))
    open_workbook(upload).close()  # not a workbook at all: say so, not "no header"
    try:
        rows = read_table(upload, columns=PORTAL_COLUMNS, required=portal_required)
    except ValidationError:
        pass
    else:
        return parse_portal(rows)
    try:
        rows = read_table(_unmerged(upload), columns=OFFICE_COLUMNS, required=office_required)
    except ValidationError as exc:
        raise ValidationError(
            _("No header row found: use the portal layout (编码, 上级编码, 名称, 分值 …) or the office layout "
              "(版块, 测评项目, 测评内容, 测评标准, 分值 …).")
        ) from exc
    return parse_office(rows)


def store_nodes(system: IndicatorSystem, nodes: list[Node]) -> int:
    """Insert the tree in bulk: paths from row order among siblings."""
    by_parent: dict[str, list[Node]] = defaultdict(list)
    for node in nodes:
        by_parent[node.parent_code].append(node)
    created: list[Indicator] = []
    types: list[tuple[Indicator, list[PointType]]] = []
    queue = [("", "", 0)]
    while queue:
        parent_code, parent_path, depth = queue.pop()
        for position, node in enumerate(by_parent.get(parent_code, []), start=1):
            path = parent_path + Indicator.step(position)
            indicator = Indicator(
                system=system, path=path, depth=depth + 1, level=Indicator.LEVELS[depth], code=node.code,
                name=node.name, points=node.points, method=node.method, description=node.description,
            )
            created.append(indicator)
            types.append((indicator, node.point_types))
            queue.append((node.code, path, depth + 1))
    Indicator.objects.bulk_create(created, batch_size=1000)
    _link_parents(created)
    through = Indicator.point_types.through
    through.objects.bulk_create(
        [through(indicator_id=ind.pk, pointtype_id=pt.pk) for ind, pts in types for pt in pts], batch_size=2000
    )
    return len(created)


def import_edition(
    *, actor: User, upload, name: str, layout: str = "auto", effective_from=None, effective_until=None,
    is_sample: bool = False, description: str = "",
) -> tuple[IndicatorSystem, ImportResult]:
    """Create a new draft edition from a sheet. Raises ValidationError for an
    unreadable file or a bad name and ImportRejected with every row error."""
    require_office(actor)
    name = normalize_text(name)
    if not name:
        raise ValidationError({"name": _("Give the edition a name.")})
    if IndicatorSystem.objects.filter(name=name).exists():
        raise ValidationError({"name": _("An edition called %(name)s already exists.") % {"name": name}})
    nodes = read_nodes(upload, layout)
    system = IndicatorSystem(name=name, effective_from=effective_from, effective_until=effective_until,
                             is_sample=is_sample, description=description, created_by=actor)
    with transaction.atomic():
        system.full_clean()
        system._history_user = actor
        system.save()
        created = store_nodes(system, nodes)
    return system, ImportResult(created=created)


def export_headers() -> list[str]:
    return ["编码", "上级编码", "层级", "名称", "分值", "测评方法", "适用点位类型", "说明"]


def export_rows(system: IndicatorSystem):
    """Rows of the portal layout in tree order (two queries)."""
    indicators = system.indicators.select_related("parent").prefetch_related("point_types").order_by("path")
    for node in indicators:
        yield [
            node.code, node.parent.code if node.parent else "", node.get_level_display(), node.name,
            float(node.points), METHOD_EXPORT.get(node.method, ""), "、".join(pt.name for pt in node.point_types.all()),
            node.description,
        ]
