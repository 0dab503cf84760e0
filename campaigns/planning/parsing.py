"""Cell parsers shared by the planning imports: methods, point types, units,
dates. Each returns a value or raises ValueError with a translated reason."""

from __future__ import annotations

import datetime as dt
import re

from django.utils.translation import gettext as _

from civportal.xlsx import normalize_text

from ..models import Indicator, PointType, Unit

METHOD_WORDS = {
    Indicator.Method.FIELD: {"field", "field inspection", "实地考察", "实地", "实地测评", "实地察看", "实地检查"},
    Indicator.Method.MATERIAL: {"material", "material review", "材料审核", "材料", "资料审核", "材料审查"},
    Indicator.Method.SURVEY: {"survey", "questionnaire survey", "问卷调查", "问卷", "入户调查", "问卷测评"},
    Indicator.Method.ONLINE: {"online", "online check", "网上申报", "网上", "网络", "在线", "网上测评", "网络测评"},
}
_METHODS = {word: method for method, words in METHOD_WORDS.items() for word in words}
METHOD_EXPORT = {
    Indicator.Method.FIELD: "实地考察", Indicator.Method.MATERIAL: "材料审核",
    Indicator.Method.SURVEY: "问卷调查", Indicator.Method.ONLINE: "网上申报",
}
LIST_SEPARATORS = re.compile(r"[、;；,，/|\n]+")


def parse_method(value) -> str:
    """'' for a blank cell; raises ValueError for an unknown method."""
    text = normalize_text(value).lower()
    if not text:
        return ""
    if text in _METHODS:
        return _METHODS[text]
    raise ValueError(_("Unknown evaluation method %(value)s (use 实地考察, 材料审核, 问卷调查 or 网上申报).") % {"value": text})


def split_list(value) -> list[str]:
    return [part.strip() for part in LIST_SEPARATORS.split(normalize_text(value)) if part.strip()]


class PointTypeLookup:
    """Point types by name or code (one query)."""

    def __init__(self):
        self.by_key: dict[str, PointType] = {}
        for point_type in PointType.objects.all():
            self.by_key[normalize_text(point_type.code).lower()] = point_type
            self.by_key[normalize_text(point_type.name).lower()] = point_type

    def one(self, value) -> PointType:
        text = normalize_text(value)
        found = self.by_key.get(text.lower())
        if found is None:
            raise ValueError(_("Unknown point type %(value)s.") % {"value": text or "—"})
        return found

    def many(self, value) -> list[PointType]:
        found, unknown = [], []
        for part in split_list(value):
            point_type = self.by_key.get(part.lower())
            (found if point_type else unknown).append(point_type or part)
        if unknown:
            raise ValueError(_("Unknown point type %(value)s.") % {"value": "、".join(unknown)})
        return list(dict.fromkeys(found))


class UnitLookup:
    """Units by code or (unambiguous) name among ``queryset`` (one query)."""

    def __init__(self, queryset):
        self.by_code: dict[str, Unit] = {}
        self.by_name: dict[str, list[Unit]] = {}
        for unit in queryset.only("pk", "code", "name", "kind", "path", "depth"):
            self.by_code[unit.code.lower()] = unit
            self.by_name.setdefault(normalize_text(unit.name).lower(), []).append(unit)

    def one(self, value, *, kinds=None) -> Unit:
        text = normalize_text(value)
        if not text:
            raise ValueError(_("The unit is missing."))
        unit = self.by_code.get(text.lower())
        if unit is None:
            named = self.by_name.get(text.lower(), [])
            if kinds:
                named = [u for u in named if u.kind in kinds]
            if len(named) > 1:
                raise ValueError(_("Several units are called %(value)s; use the unit code.") % {"value": text})
            unit = named[0] if named else None
        if unit is None:
            raise ValueError(_("Unknown unit %(value)s (or outside your scope).") % {"value": text})
        return unit

    def many(self, value) -> list[Unit]:
        units, problems = [], []
        for part in split_list(value):
            try:
                units.append(self.one(part))
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            raise ValueError(" ".join(problems))
        return list({unit.pk: unit for unit in units}.values())


_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def parse_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = normalize_text(value)
    match = _DATE.match(text)
    if match:
        try:
            return dt.date(*(int(part) for part in match.groups()))
        except ValueError:
            pass
    raise ValueError(_("%(value)s is not a date (write it as 2026-06-30).") % {"value": text or "—"})


def parse_bool(value, default: bool = True) -> bool:
    text = normalize_text(value).lower()
    if not text:
        return default
    if text in {"1", "true", "yes", "y", "是", "有效", "启用", "正常", "active"}:
        return True
    if text in {"0", "false", "no", "n", "否", "无效", "停用", "撤销", "inactive"}:
        return False
    raise ValueError(_("Write 是 or 否."))
