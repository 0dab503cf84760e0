"""Issue 17, acceptance 7: office editions with 合计/小计 rows and a 备注 column.

Fixture ``indicator-edition-office-totals.xlsx`` is the office sample
(``indicator-edition-office-layout.xlsx``) with a 备注 column, a 公共环境 小计
row (13.5) after the section and a 合计 row (37.5) merged over A:D."""

import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from openpyxl import load_workbook

from campaigns.models import Indicator, IndicatorSystem
from campaigns.planning import indicator_io
from civportal.xlsx import ImportRejected

from .planning_helpers import point_types, xlsx

TOTALS = Path(__file__).resolve().parent.parent / "fixtures" / "indicator-edition-office-totals.xlsx"
pytestmark = pytest.mark.django_db


def changed(cells: dict) -> SimpleUploadedFile:
    book = load_workbook(TOTALS)
    for ref, value in cells.items():
        book.active[ref] = value
    out = io.BytesIO()
    book.save(out)
    return SimpleUploadedFile("edition.xlsx", out.getvalue())


def test_total_and_subtotal_rows_that_add_up_import_and_are_not_nodes(personas):
    point_types()
    with TOTALS.open("rb") as f:
        system, result = indicator_io.import_edition(actor=personas.supervisor, upload=f, name="带合计")
    nodes = {n.code: n for n in system.indicators.all()}
    names = {n.name for n in nodes.values()}
    assert not names & {"合计", "小计"}
    assert len([n for n in nodes.values() if n.level == Indicator.Level.CRITERION]) == 22
    assert [nodes[c].name for c in ("1", "2", "7")] == ["公共环境", "公共秩序", "群众满意度"]
    assert nodes["1"].points == Decimal("13.5") and result.created == len(nodes)
    # The 备注 column is kept as the criterion's description.
    assert nodes["1.1.1.1"].description == "早晚高峰各查一次"
    assert nodes["4.1.1.1"].description == "以志愿汇平台数据为准"
    assert nodes["1.1.1.2"].description == ""


def test_a_total_that_does_not_add_up_is_refused_naming_its_row(personas):
    point_types()
    with pytest.raises(ImportRejected) as info, translation.override("zh-hans"):
        indicator_io.import_edition(actor=personas.supervisor, upload=changed({"E25": 38}), name="合计错误")
    (error,) = info.value.errors
    assert (error.row, error.column) == (25, "分值")
    assert "合计" in error.message and "38" in error.message and "37.5" in error.message
    assert not IndicatorSystem.objects.filter(name="合计错误").exists()


def test_a_subtotal_that_does_not_add_up_is_refused_naming_its_row(personas):
    point_types()
    with pytest.raises(ImportRejected) as info, translation.override("zh-hans"):
        indicator_io.import_edition(actor=personas.supervisor, upload=changed({"E10": 12}), name="小计错误")
    assert [(e.row, e.column) for e in info.value.errors] == [(10, "分值")]
    assert "小计" in info.value.errors[0].message and "13.5" in info.value.errors[0].message


@pytest.mark.parametrize("label", ["总计", "总分", "合 计", "总计：", "公共环境小计"])
def test_total_labels_are_recognised_with_their_scope(label):
    rows = [
        ["版块", "测评项目", "测评内容", "测评标准", "分值", "测评方法"],
        ["公共环境", "市容", "道路", "无垃圾", 2, "实地考察"],
        ["", "", "", "无污水", 1.5, "实地考察"],
        ["公共秩序", "交通", "礼让", "礼让斑马线", 4, "实地考察"],
    ]
    if label == "公共环境小计":
        rows.append([label, "", "", "", 3.5, ""])
    else:
        rows.append([label, "", "", "", 7.5, ""])
    nodes = indicator_io.read_nodes(xlsx(rows), "office")
    assert [n.name for n in nodes if n.parent_code == ""] == ["公共环境", "公共秩序"]
    assert len(nodes) == 9


def test_a_criterion_that_merely_mentions_a_total_is_a_node():
    assert indicator_io.total_label("测评总分达到90分以上") is None
    assert indicator_io.total_label("小计") == "" and indicator_io.total_label("市容环境小计") == "市容环境"
