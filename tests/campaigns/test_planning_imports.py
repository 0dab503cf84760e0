"""Editions, points and the ledger in and out of Excel (acceptance 1 and 2)."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from campaigns.models import Indicator, IndicatorSystem, Point, WorkItem
from campaigns.planning import indicator_io, ledger_io
from civportal.xlsx import ImportRejected

from .planning_helpers import planned, point_types, small_edition, xlsx

OFFICE_SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "indicator-edition-office-layout.xlsx"


def tree(system):
    return [
        (n.path, n.depth, n.level, n.code, n.parent.code if n.parent else "", n.name, n.points, n.method,
         sorted(pt.code for pt in n.point_types.all()))
        for n in system.indicators.select_related("parent").prefetch_related("point_types").order_by("path")
    ]


def upload_of(rows, name="x.xlsx"):
    return xlsx(rows, name)


def test_office_layout_sample_imports_into_the_tree_its_merged_cells_describe(personas):
    point_types()
    with OFFICE_SAMPLE.open("rb") as f:
        system, result = indicator_io.import_edition(actor=personas.supervisor, upload=f, name="样例")
    nodes = {n.code: n for n in system.indicators.select_related("parent")}
    sections = [n for n in nodes.values() if n.level == Indicator.Level.SECTION]
    assert [s.name for s in sorted(sections, key=lambda s: s.path)] == [
        "公共环境", "公共秩序", "公益宣传", "志愿服务", "未成年人思想道德建设", "诚信建设", "群众满意度"]
    assert len([n for n in nodes.values() if n.level == Indicator.Level.CRITERION]) == 22
    # 公共环境 (A2:A9) holds three items; 市容环境 (B2:B5) two contents with two criteria each.
    assert [n.name for n in nodes.values() if n.parent_id == nodes["1"].pk] == ["市容环境", "农贸市场", "老旧小区"]
    assert nodes["1.1.2"].name == "背街小巷整洁" and nodes["1.1.2.2"].name == "无乱搭乱建、无乱拉乱挂"
    assert nodes["1.1.1.2"].points == Decimal("1.5") and nodes["1.1.1.2"].method == Indicator.Method.FIELD
    assert nodes["1"].points == Decimal("13.5")
    total = sum(n.points for n in nodes.values() if n.level == Indicator.Level.CRITERION)
    assert total == Decimal("37.5") and result.created == len(nodes)
    assert sorted(pt.name for pt in nodes["2.1.1.2"].point_types.all()) == ["主次干道", "车站"]
    assert nodes["4.1.1.1"].method == Indicator.Method.MATERIAL
    assert nodes["6.1.1.1"].method == Indicator.Method.ONLINE
    assert nodes["7.1.1.2"].method == Indicator.Method.SURVEY


def test_edition_export_then_import_into_a_new_edition_gives_an_identical_tree(client, personas):
    point_types()
    with OFFICE_SAMPLE.open("rb") as f:
        first, _ = indicator_io.import_edition(actor=personas.supervisor, upload=f, name="第一版")
    client.force_login(personas.supervisor)
    response = client.get(f"/editions/{first.pk}/export.xlsx")
    assert response.status_code == 200
    exported = SimpleUploadedFile("export.xlsx", b"".join(response.streaming_content))
    second, _ = indicator_io.import_edition(actor=personas.supervisor, upload=exported, name="第二版", layout="portal")
    assert tree(second) == tree(first)
    assert len(tree(second)) > 40


def test_office_layout_with_repeated_cells_and_untidy_values_is_tolerated(personas):
    point_types()
    upload = upload_of([
        ["2026年测评体系（示例）"],
        [],
        ["版块", "测评项目", "测评内容", "测评标准", "分值", "测评方法", "适用点位类型"],
        ["公共环境", "市容", "道路", "无垃圾", "２分", "实地考察", "主次干道、背街小巷"],
        ["公共环境", "市容", "道路", "无污水", "1.5", "实地", "主次干道；背街小巷"],
        [None, None, None, None, None, None, None],
        ["", "", "", "有标识", "1", "材料审核", ""],
    ])
    system, _ = indicator_io.import_edition(actor=personas.supervisor, upload=upload, name="整洁")
    nodes = {n.code: n for n in system.indicators.all()}
    assert set(nodes) == {"1", "1.1", "1.1.1", "1.1.1.1", "1.1.1.2", "1.1.1.3"}
    assert nodes["1.1.1.1"].points == Decimal("2")
    assert nodes["1.1.1.2"].point_types.count() == 2


def _rejected(rows, layout="portal"):
    point_types()
    with pytest.raises(ImportRejected) as info:
        indicator_io.read_nodes(upload_of(rows), layout)
    return [(e.row, e.column, e.message) for e in info.value.errors]


HEADER = ["编码", "上级编码", "名称", "分值", "测评方法", "适用点位类型"]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([HEADER, ["1", "", "环境", "", "", ""], ["1.1", "9", "市容", "2", "实地考察", ""]], (3, "上级编码", "9")),
        ([HEADER, ["1", "", "环境", "", "", ""], ["1", "", "秩序", "", "", ""]], (3, "编码", "1")),
        ([HEADER, ["1", "", "环境", "很多", "", ""]], (2, "分值", "很多")),
        ([HEADER, ["1", "2", "a", "", "", ""], ["2", "1", "b", "", "", ""]], (2, "上级编码", "")),
        ([HEADER, ["1", "", "a", "1", "拍脑袋", ""]], (2, "测评方法", "拍脑袋")),
        ([HEADER, ["1", "", "a", "1", "实地考察", "月球"]], (2, "适用点位类型", "月球")),
        ([HEADER, ["1", "", "a", "-1", "", ""]], (2, "分值", "")),
    ],
    ids=["unknown-parent", "duplicate-code", "non-numeric-points", "cycle", "unknown-method", "unknown-type",
         "negative-points"],
)
def test_bad_portal_rows_are_reported_with_row_column_and_reason_in_chinese(db, rows, expected):
    errors = _rejected(rows)
    row, column, word = expected
    assert any(e[0] == row and e[1] == column and word in e[2] for e in errors), errors
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in e[2]) for e in errors)


def test_errors_switch_to_english(db):
    with translation.override("en"):
        errors = _rejected([HEADER, ["1", "", "环境", "很多", "", ""]])
    assert errors == [(2, "points", "很多 is not a number of points.")]


def test_a_bad_edition_file_changes_nothing(personas):
    point_types()
    before = (IndicatorSystem.objects.count(), Indicator.objects.count())
    with pytest.raises(ImportRejected):
        indicator_io.import_edition(actor=personas.supervisor, name="坏", upload=upload_of(
            [HEADER, ["1", "", "环境", "", "", ""], ["1.1", "1", "市容", "二", "实地考察", ""]]))
    assert (IndicatorSystem.objects.count(), Indicator.objects.count()) == before


def test_missing_column_and_non_xlsx_files_are_clear_validation_errors(personas):
    with pytest.raises(ValidationError, match="header|表头"):
        indicator_io.import_edition(actor=personas.supervisor, name="缺列", layout="portal",
                                    upload=upload_of([["编码", "上级编码", "名称"], ["1", "", "a"]]))
    with pytest.raises(ValidationError, match="xlsx"):
        indicator_io.import_edition(actor=personas.supervisor, name="非表格",
                                    upload=SimpleUploadedFile("a.xlsx", b"this is not a workbook"))
    assert not IndicatorSystem.objects.exists()


def test_only_supervisors_import_editions(personas):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        indicator_io.import_edition(actor=personas.handler_a, name="x", upload=upload_of([HEADER]))


POINT_HEADER = ["点位编号", "点位名称", "点位类型", "地址", "经度", "纬度", "属地单位", "主管部门"]


def test_points_import_creates_updates_and_round_trips(personas, city):
    point_types()
    upload = upload_of([
        ["点位清单"], POINT_HEADER,
        ["P1", "人民路", "主次干道", "人民路1号", "121.5", "29.9", city.community_a1.code, city.department.code],
        ["", "春晖菜场", "农贸市场", "", "", "", "春晖社区", ""],
    ])
    result = ledger_io.import_points(actor=personas.supervisor, upload=upload)
    assert (result.created, result.updated) == (2, 0)
    point = Point.objects.get(code="P1")
    assert point.department == city.department and point.latitude == Decimal("29.9")
    rows = [POINT_HEADER + ["状态"]] + [list(r) for r in ledger_io.point_export_rows(Point.objects.filter(code="P1"))]
    again = ledger_io.import_points(actor=personas.supervisor, upload=upload_of(rows))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)


def test_points_import_rejects_out_of_scope_units_and_bad_coordinates(personas, city):
    point_types()
    supervisor_a = personas.head_a
    from campaigns.models import Membership
    Membership.objects.create(user=supervisor_a, unit=city.district_a, role=Membership.Role.SUPERVISOR)
    upload = upload_of([POINT_HEADER,
                        ["", "解放路", "主次干道", "", "", "", city.street_b1.code, ""],
                        ["", "人民路", "主次干道", "", "500", "", city.street_a1.code, ""],
                        ["", "春晖", "不存在", "", "", "", city.street_a1.code, ""]])
    with pytest.raises(ImportRejected) as info:
        ledger_io.import_points(actor=supervisor_a, upload=upload)
    assert [(e.row, e.column) for e in info.value.errors] == [(2, "属地单位"), (3, "经度"), (4, "类型")]
    assert not Point.objects.exists()


def test_ledger_import_and_export(personas, city):
    plan = planned(city)
    upload = upload_of([
        ["指标编码", "工作任务", "牵头单位", "配合单位", "完成时限"],
        ["1.1.1.1", "清理道路", city.district_a.code, f"{city.department.name}、{city.district_b.code}", "2026年6月30日"],
        ["", "设置公益广告", city.district_b.name, "", dt.datetime(2026, 7, 1)],
    ])
    result = ledger_io.import_work_items(actor=personas.supervisor, upload=upload, campaign=plan.campaign)
    assert result.created == 2
    item = WorkItem.objects.get(title="清理道路")
    assert item.indicator == plan.criterion and item.deadline == dt.date(2026, 6, 30)
    assert set(item.cooperating_units.all()) == {city.department, city.district_b}
    with time_machine.travel(dt.datetime(2026, 5, 1, 10, tzinfo=dt.timezone.utc)):
        rows = list(ledger_io.ledger_rows(WorkItem.objects.filter(pk=item.pk)))
    with time_machine.travel(dt.datetime(2026, 7, 1, 10, tzinfo=dt.timezone.utc)):
        assert list(ledger_io.ledger_rows(WorkItem.objects.filter(pk=item.pk)))[0][6] == "是"
    # Cooperating units in tree order: district B was created before the department.
    assert rows == [["1.1.1.1", "清理道路", city.district_a.name, f"{city.district_b.name}、{city.department.name}",
                     dt.date(2026, 6, 30), "未开始", "否", ""]]


def test_ledger_import_rejects_unknown_indicator_units_and_dates(personas, city):
    plan = planned(city)
    count = WorkItem.objects.count()
    upload = upload_of([
        ["指标编码", "工作任务", "牵头单位", "配合单位", "完成时限"],
        ["9.9", "x", city.district_a.code, "", "2026-06-30"],
        ["", "y", "火星区", "", "2026-06-30"],
        ["", "z", city.district_a.code, city.district_a.code, "下周"],
    ])
    with pytest.raises(ImportRejected) as info:
        ledger_io.import_work_items(actor=personas.supervisor, upload=upload, campaign=plan.campaign)
    assert {(e.row, e.column) for e in info.value.errors} == {
        (2, "指标编码"), (3, "牵头单位"), (4, "完成时限"), (4, "配合单位")}
    assert WorkItem.objects.count() == count


def test_small_edition_rollup_sums_criteria(db):
    system = small_edition()
    totals = {n.code: n.total_points for n in system.indicators.with_rollup()}
    assert totals["1"] == Decimal("5") and totals["1.1.1.2"] == Decimal("2")


def test_demo_edition_export_import_export_round_trip_is_identical(client, personas):
    from campaigns.planning import demo

    demo._point_types()
    first = demo._edition(personas.supervisor)
    client.force_login(personas.supervisor)

    def export(system):
        response = client.get(f"/editions/{system.pk}/export.xlsx")
        return SimpleUploadedFile("e.xlsx", b"".join(response.streaming_content))

    second, _ = indicator_io.import_edition(actor=personas.supervisor, upload=export(first), name="再导入")
    third, _ = indicator_io.import_edition(actor=personas.supervisor, upload=export(second), name="再再导入")
    assert tree(first) == tree(second) == tree(third)
    assert len(tree(first)) == first.indicators.count() > 150
