import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from volunteers.models import Volunteer


def _sheet(rows, title=True) -> SimpleUploadedFile:
    workbook = Workbook()
    sheet = workbook.active
    if title:
        sheet.append(["明州市志愿者花名册"])
    sheet.append(["姓名", "手机号", "社区编码", "性别", "出生年份", "身份证号", "特长"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile("v.xlsx", buffer.getvalue(),
                              content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def test_import_inserts_every_good_row(vol, personas, login, city):
    upload = _sheet([["周一", "１３６１１１１００００", "C-A-1-1", "男", "1980年", "", "急救"],
                     ["吴二", "136 1111 0001", "C-A-1-2", "女", None, "330102199001011234", ""]])
    response = login(personas.handler_a).post(reverse("volunteers:volunteer_import"), {"file": upload})
    assert response.status_code == 302
    created = Volunteer.objects.filter(source=Volunteer.Source.IMPORT).order_by("phone")
    assert [(v.name, v.phone, v.birth_year) for v in created] == [("周一", "13611110000", 1980), ("吴二", "13611110001", None)]
    assert created[0].history.first().history_user == personas.handler_a


def test_import_with_any_bad_row_imports_nothing_and_lists_every_problem(vol, personas, login, city):
    before = Volunteer.objects.count()
    upload = _sheet([
        ["好人", "13611110000", "C-A-1-1", "", "", "", ""],
        ["", "123", "C-A-1-1", "", "", "", ""],                      # no name, bad phone
        ["重复", vol.own.phone, "C-A-1-1", "", "", "", ""],          # already registered
        ["街道", "13611110002", "C-A-1", "", "", "", ""],            # a street, not a community
        ["外区", "13611110003", "C-B-1", "", "", "", ""],            # unknown code
        ["重号", "13611110000", "C-A-1-1", "未知", "1800", "12", ""],  # duplicate in file, gender, year, id
    ])
    response = login(personas.handler_a).post(reverse("volunteers:volunteer_import"), {"file": upload})
    assert response.status_code == 400
    errors = response.context["errors"]
    assert {e.row for e in errors} == {4, 5, 6, 7, 8}
    assert len([e for e in errors if e.row == 8]) == 4
    assert Volunteer.objects.count() == before


def test_import_refuses_communities_outside_the_actors_scope(vol, personas, login):
    upload = _sheet([["周一", "13611110000", "C-A-1-1", "", "", "", ""]])
    response = login(personas.handler_b).post(reverse("volunteers:volunteer_import"), {"file": upload})
    assert response.status_code == 400
    assert not Volunteer.objects.filter(phone="13611110000").exists()


def test_unreadable_file_is_a_clear_error(vol, personas, login):
    upload = SimpleUploadedFile("v.xlsx", b"not a workbook")
    response = login(personas.handler_a).post(reverse("volunteers:volunteer_import"), {"file": upload})
    assert response.status_code == 400
    assert response.context["form"].errors


def test_export_reimports_nothing_twice(vol, personas, login):
    """The export is readable by the import (headers match) and duplicates are refused."""
    from openpyxl import load_workbook

    client = login(personas.supervisor)
    data = b"".join(client.get(reverse("volunteers:volunteer_export")).streaming_content)
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet.max_row == 1 + Volunteer.objects.count()
    response = client.post(reverse("volunteers:volunteer_import"),
                           {"file": SimpleUploadedFile("e.xlsx", data)})
    assert response.status_code == 400 and all("已注册" in e.message or "registered" in e.message
                                               for e in response.context["errors"] if e.column in ("手机号", "mobile phone"))


def test_load_demo_adds_volunteers_once(db):
    from django.core.management import call_command

    from volunteers.models import Activity, HourEntry

    call_command("load_demo", quiet=True)
    counts = (Volunteer.objects.count(), Activity.objects.count(), HourEntry.objects.count())
    call_command("load_demo", quiet=True)
    assert (Volunteer.objects.count(), Activity.objects.count(), HourEntry.objects.count()) == counts
    assert counts[0] == 300 and counts[1] == 20 and counts[2] > 50
