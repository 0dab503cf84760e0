"""Unit xlsx import: all-or-nothing with a row-level report; export round-trips."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from openpyxl import Workbook, load_workbook

from campaigns.imports import import_units
from campaigns.models import Unit
from civportal.xlsx import ImportRejected

HEADER = ["编码", "名称", "类型", "上级编码", "人口"]


def xlsx(rows, header=HEADER, title=None):
    workbook = Workbook()
    sheet = workbook.active
    if title:
        sheet.append([title])
        sheet.append([])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile("units.xlsx", buffer.getvalue())


GOOD = [
    ["D-X", "新区", "区", "C", "１２０００人"],
    ["D-X-1", "新区街道", "街道", "D-X", 3000],
    ["D-X-1-1", "新区社区", "社区", "D-X-1", None],
    [],
    ["D-X-1-1-1", "新区社区第1网格", "grid", "D-X-1-1", "1,200"],
    ["C-JT", "市交通运输局", "部门", "C", ""],
]


def test_good_file_imports_every_row_with_untidy_cells(personas, city):
    result = import_units(actor=personas.supervisor, upload=xlsx(GOOD, title="明州市单位名录（2026年）"))
    assert (result.created, result.updated) == (5, 0)
    grid = Unit.objects.get(code="D-X-1-1-1")
    assert grid.parent_unit().code == "D-X-1-1" and grid.population == 1200
    assert Unit.objects.get(code="D-X").population == 12000
    assert Unit.objects.get(code="D-X").parent_unit() == city.city
    assert Unit.objects.get(pk=city.city.pk).numchild == 5
    assert Unit.objects.get(code="D-X-1").numchild == 1
    # Tree operations still work on imported nodes.
    from campaigns import services

    services.unit_move(actor=personas.supervisor, unit=Unit.objects.get(code="D-X-1"), new_parent=city.district_a)
    assert Unit.objects.get(code="D-X-1-1-1").path.startswith(city.district_a.path)


BAD_CASES = [
    (["E1", "区", "区", "NOPE", 1], "上级编码", "上级编码 NOPE 不存在"),
    (["C-A", "重复", "区", "C", 1], None, None),  # existing code: an update, not an error
    (["E2", "网格", "网格", "C", 1], "类型", "不能隶属于"),
    (["E3", "某某", "星球", "C", 1], "类型", "未知的单位类型"),
    (["E4", "某区", "区", "C", "很多"], "人口", "人口必须是非负整数"),
    (["", "无编码", "区", "C", 1], "编码", "缺少编码"),
]


@pytest.mark.parametrize("bad_row, column, reason", [c for c in BAD_CASES if c[1]])
def test_one_bad_row_imports_nothing_and_reports_it(personas, city, bad_row, column, reason):
    before = set(Unit.objects.values_list("code", "name"))
    rows = GOOD[:3] + [bad_row]
    with translation.override("zh-hans"), pytest.raises(ImportRejected) as excinfo:
        import_units(actor=personas.supervisor, upload=xlsx(rows))
    errors = excinfo.value.errors
    assert len(errors) == 1
    assert errors[0].row == 5 and errors[0].column == column and reason in errors[0].message
    assert set(Unit.objects.values_list("code", "name")) == before


def test_duplicate_codes_and_cycles_are_reported(personas, city):
    rows = [["F1", "甲区", "区", "C", 1], ["F1", "乙区", "区", "C", 1],
            ["S1", "甲街道", "街道", "S2", 1], ["S2", "乙街道", "街道", "S1", 1]]
    with translation.override("en"), pytest.raises(ImportRejected) as excinfo:
        import_units(actor=personas.supervisor, upload=xlsx(rows))
    messages = [(e.row, e.column, e.message) for e in excinfo.value.errors]
    assert any(row == 3 and "Duplicate code F1" in message for row, _c, message in messages)
    assert any("cycle" in message or "cannot be placed" in message for _r, _c, message in messages)
    assert not Unit.objects.filter(code__in=["F1", "S1", "S2"]).exists()


def test_not_an_xlsx_and_missing_columns_are_clear_errors(personas, city, login):
    client = login(personas.supervisor)
    response = client.post("/units/import/", {"file": SimpleUploadedFile("units.xlsx", b"this is text")})
    assert response.status_code == 400
    assert "不是可读取的 Excel 工作簿" in response.content.decode()
    response = client.post("/units/import/", {"file": xlsx([["X", "Y"]], header=["编码", "名称"])})
    assert response.status_code == 400
    assert "未找到表头行" in response.content.decode()


def test_import_page_lists_row_errors_and_english_works(personas, city, login):
    client = login(personas.supervisor)
    client.post("/i18n/setlang/", {"language": "en"})
    response = client.post("/units/import/", {"file": xlsx([["E1", "区", "区", "NOPE", 1]])})
    assert response.status_code == 400
    body = response.content.decode()
    assert "nothing was imported" in body and "Unknown parent code NOPE" in body


def test_handler_cannot_import(personas, city, login):
    response = login(personas.handler_a).post("/units/import/", {"file": xlsx(GOOD)})
    assert response.status_code == 403
    assert not Unit.objects.filter(code="D-X").exists()


def test_district_supervisor_cannot_import_into_another_district(city):
    from campaigns.models import Membership
    from tests.factories import make_member

    sup_a = make_member(city.district_a, Membership.Role.SUPERVISOR, "sup_a")
    with pytest.raises(ImportRejected) as excinfo:
        import_units(actor=sup_a, upload=xlsx([["Z1", "新街道", "街道", "C-B", 1]]))
    assert excinfo.value.errors[0].row == 2


def _export(client, **params):
    response = client.get("/units/export.xlsx", params)
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def _tree():
    units = Unit.objects.with_parent().order_by("code")
    return [(u.code, u.name, u.kind, u.parent_code, u.population) for u in units]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_export_then_import_round_trips(city, login, language, db):
    from tests.factories import UserFactory

    admin = UserFactory(username="root", is_superuser=True)
    client = login(admin)
    client.post("/i18n/setlang/", {"language": language})
    Unit.objects.filter(code="C-A").update(population=820000)
    before = _tree()
    content = _export(client)
    # Re-importing into the same tree changes nothing.
    result = import_units(actor=admin, upload=SimpleUploadedFile("u.xlsx", content))
    assert (result.created, result.updated, result.unchanged) == (0, 0, len(before))
    # Into an empty database it rebuilds the identical tree.
    Unit.history.all().delete()
    Unit.objects.all().delete()
    result = import_units(actor=admin, upload=SimpleUploadedFile("u.xlsx", content))
    assert result.created == len(before)
    assert _tree() == before
    header = [c.value for c in next(load_workbook(io.BytesIO(content)).active.iter_rows(max_row=1))]
    assert header[0] == ("编码" if language == "zh-hans" else "code")
