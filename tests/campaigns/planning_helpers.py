"""Builders for planning tests: xlsx files in memory and a small planned campaign."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from types import SimpleNamespace

from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from campaigns.models import Campaign, IndicatorSystem, Point, PointType, WorkItem
from campaigns.planning.indicator_io import Node, store_nodes

OFFICE_TYPES = ["主次干道", "背街小巷", "农贸市场", "老旧小区", "车站", "窗口单位", "医院", "公园广场", "学校周边"]


def xlsx(rows, name="sheet.xlsx") -> SimpleUploadedFile:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return SimpleUploadedFile(name, out.getvalue(),
                              content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def read_xlsx(content: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(content), read_only=True).worksheets[0].iter_rows(values_only=True))


def point_types() -> dict[str, PointType]:
    return {name: PointType.objects.get_or_create(code=f"T{i}", defaults={"name": name})[0]
            for i, name in enumerate(OFFICE_TYPES, start=1)}


def small_edition(name="测试版", types=None) -> IndicatorSystem:
    """1 section → 1 item → 1 content → 2 criteria (3 + 2 points)."""
    types = types or point_types()
    system = IndicatorSystem.objects.create(name=name, status=IndicatorSystem.Status.PUBLISHED)
    store_nodes(system, [
        Node(0, "1", "", "公共环境", Decimal(5), ""),
        Node(0, "1.1", "1", "市容环境", Decimal(5), ""),
        Node(0, "1.1.1", "1.1", "主次干道整洁", Decimal(5), ""),
        Node(0, "1.1.1.1", "1.1.1", "路面无垃圾", Decimal(3), "field", [types["主次干道"]]),
        Node(0, "1.1.1.2", "1.1.1", "立面整洁", Decimal(2), "field", [types["主次干道"], types["背街小巷"]]),
    ])
    return system


def planned(city) -> SimpleNamespace:
    """An active campaign with an edition, points in A, B and a department, and work items led by A, B, the department."""
    types = point_types()
    system = small_edition(types=types)
    campaign = Campaign.objects.create(name="2026创城", starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31),
                                       status=Campaign.Status.ACTIVE, indicator_system=system)
    criterion = system.indicators.get(code="1.1.1.1")
    point_a = Point.objects.create(name="春晖农贸市场", point_type=types["农贸市场"], unit=city.community_a1,
                                   latitude=Decimal("29.9"), longitude=Decimal("121.5"), code="PA")
    point_b = Point.objects.create(name="解放路", point_type=types["主次干道"], unit=city.street_b1, code="PB")
    point_b_dept = Point.objects.create(name="解放巷", point_type=types["背街小巷"], unit=city.street_b1,
                                        department=city.department, code="PBD")
    deadline = dt.date.today() + dt.timedelta(days=30)
    item_a = WorkItem.objects.create(campaign=campaign, indicator=criterion, title="A 牵头", lead_unit=city.district_a,
                                     deadline=deadline)
    item_b = WorkItem.objects.create(campaign=campaign, title="B 牵头", lead_unit=city.district_b, deadline=deadline)
    item_b_with_a = WorkItem.objects.create(campaign=campaign, title="B 牵头 A 配合", lead_unit=city.district_b,
                                            deadline=dt.date.today() - dt.timedelta(days=1))
    item_b_with_a.cooperating_units.add(city.street_a1)
    item_dept = WorkItem.objects.create(campaign=campaign, title="城管局牵头", lead_unit=city.department, deadline=deadline)
    return SimpleNamespace(types=types, system=system, campaign=campaign, criterion=criterion, point_a=point_a,
                           point_b=point_b, point_b_dept=point_b_dept, item_a=item_a, item_b=item_b,
                           item_b_with_a=item_b_with_a, item_dept=item_dept)
