"""The global search (/search/, the box in the header): a finding or task by its
number, units by name or code, points by name or code, volunteers by name — each
kind only within the user's scope and only when the user may read that kind.
One query per kind, at most ``LIMIT`` rows each; name searches use the trigram
indexes on ``UPPER(name)`` (campaigns 0006, volunteers 0003)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q

from campaigns.models import Point
from campaigns.selectors import unit_lookup
from inspections.models import Finding, RectificationTask
from volunteers.models import Volunteer

LIMIT = 10
MAX_LENGTH = 100


@dataclass
class Results:
    text: str
    findings: list = field(default_factory=list)
    tasks: list = field(default_factory=list)
    units: list = field(default_factory=list)
    points: list = field(default_factory=list)
    volunteers: list = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.findings) + len(self.tasks) + len(self.units) + len(self.points) + len(self.volunteers)


def number_in(text: str) -> int | None:
    """``123`` or ``#123`` as a record number (ASCII digits only: '²' or '١٢' are not numbers)."""
    digits = text.removeprefix("#").removeprefix("＃").strip()
    if digits.isascii() and digits.isdigit() and len(digits) < 12:
        return int(digits)
    return None


def search(user, text: str) -> Results:
    text = text.replace("\x00", "").strip()[:MAX_LENGTH]
    results = Results(text=text)
    if not text:
        return results
    number = number_in(text)
    if number is not None:
        if user.has_perm("inspections.view_finding"):
            results.findings = list(Finding.objects.visible_to(user).filter(pk=number)
                                    .select_related("category", "unit"))
        if user.has_perm("inspections.view_rectificationtask"):
            results.tasks = list(RectificationTask.objects.visible_to(user).filter(pk=number)
                                 .select_related("finding__category", "unit"))
    if user.has_perm("campaigns.view_unit"):
        results.units = unit_lookup(user, text, limit=LIMIT)
    if user.has_perm("campaigns.view_point"):
        results.points = list(Point.objects.visible_to(user)
                              .filter(Q(name__icontains=text) | Q(code__istartswith=text))
                              .select_related("unit", "point_type").order_by("name", "pk")[:LIMIT])
    if user.has_perm("volunteers.view_volunteer"):
        results.volunteers = list(Volunteer.objects.visible_to(user).filter(name__icontains=text)
                                  .select_related("unit").order_by("name", "pk")[:LIMIT])
    return results
