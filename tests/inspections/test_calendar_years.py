"""Issue 17, acceptance 8: deadlines in a year the holiday library does not
know (chinesecalendar 1.11 knows 2004–2026) are provisional, the fallback
knows the fixed-date holidays, and the office imports the year's schedule."""

from __future__ import annotations

import datetime as dt
import io
import logging
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from inspections import deadlines, services
from inspections.models import CalendarOverride, FindingCategory, HolidaySchedule
from civportal.xlsx import ImportRejected

from .helpers import finding, world

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def schedule_xlsx(rows, name="2027年放假安排.xlsx") -> SimpleUploadedFile:
    book = Workbook()
    sheet = book.active
    sheet.append(["2027年部分节假日安排"])  # a title row above the header, as offices write them
    sheet.append(["日期", "类型", "名称"])
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return SimpleUploadedFile(name, out.getvalue(), content_type=XLSX)


SCHEDULE_2027 = [
    (dt.date(2027, 1, 1), "休", "元旦"),
    ("2027-01-09", "班", "调休上班"),  # a Saturday worked
    ("2027/1/11", "休", "本市调休"),
    (dt.datetime(2027, 1, 12), "休", "本市调休"),
]


@pytest.fixture
def engineering(city, personas):
    w = world(city, personas)
    w.works = FindingCategory.objects.create(code="GC", name="道路破损", engineering=True)
    return w


def test_the_library_knows_2026_but_not_2027():
    assert deadlines.library_knows(2026) and not deadlines.library_knows(2027)


def test_fallback_knows_the_fixed_date_holidays():
    for day in (dt.date(2027, 1, 1), dt.date(2027, 5, 1), dt.date(2027, 10, 1), dt.date(2027, 10, 4 - 1)):
        assert not deadlines.is_national_workday(day), day
    assert deadlines.is_national_workday(dt.date(2027, 10, 4))  # Monday after 1–3 Oct
    assert not deadlines.is_national_workday(dt.date(2027, 1, 2))  # Saturday


def test_the_log_warns_once_per_year_not_once_per_date(caplog):
    deadlines._warned_years.clear()
    with caplog.at_level(logging.WARNING, logger="inspections.deadlines"):
        deadlines.add_working_days(dt.date(2027, 1, 1), 60)
        deadlines.add_working_days(dt.date(2027, 3, 1), 10)
    warnings = [r for r in caplog.records if "2027" in r.getMessage()]
    assert len(warnings) == 1


def test_a_20_working_day_deadline_dispatched_on_2026_12_20_is_provisional_and_skips_new_year(engineering,
                                                                                                 personas, client,
                                                                                                 login):
    w = engineering
    f = finding(w, personas, category=w.works)
    with time_machine.travel(at(2026, 12, 20, 10, 0), tick=False):
        login(personas.supervisor)
        page = client.get(f"/findings/{f.pk}/").content.decode()
        assert "data-provisional" in page and "2027-01-18" in page
        task = services.task_dispatch(actor=personas.supervisor, finding=f)
    # 21–31 Dec: 9 working days; 1 Jan 2027 (元旦) skipped; 4–8, 11–15 Jan → 19; 18 Jan is the 20th.
    assert task.due_at == at(2027, 1, 18, 23, 59, 59)
    assert deadlines.deadline_is_provisional(task.dispatched_at, task.due_at)
    assert "data-provisional" in client.get(f"/tasks/{task.pk}/").content.decode()
    calendar = client.get("/calendar/?year=2027").content.decode()
    assert 'class="provisional"' in calendar
    assert 'class="holiday" title="元旦" data-date="2027-01-01"' in calendar


def test_after_importing_the_2027_schedule_a_new_tasks_deadline_follows_it(engineering, personas, client, login):
    w = engineering
    upload = schedule_xlsx(SCHEDULE_2027)
    schedule = services.calendar_year_import(actor=personas.supervisor, upload=upload)
    assert (schedule.year, schedule.holiday_count, schedule.workday_count) == (2027, 3, 1)
    assert CalendarOverride.objects.filter(date__year=2027).count() == 4
    assert schedule.history.count() == 1 and CalendarOverride.history.count() == 4
    f = finding(w, personas, category=w.works)
    with time_machine.travel(at(2026, 12, 20, 10, 0), tick=False):
        task = services.task_dispatch(actor=personas.supervisor, finding=f)
    # 9 in December; 4–8 Jan → 14; Sat 9 Jan worked → 15; 11 and 12 Jan off; 13–15 → 18; 18, 19 → 20.
    assert task.due_at == at(2027, 1, 19, 23, 59, 59)
    assert not deadlines.deadline_is_provisional(task.dispatched_at, task.due_at)
    login(personas.supervisor)
    assert "data-provisional" not in client.get(f"/tasks/{task.pk}/").content.decode()
    calendar = client.get("/calendar/?year=2027").content.decode()
    assert 'class="provisional"' not in calendar
    assert 'class="makeup overridden" title="调休上班" data-date="2027-01-09"' in calendar
    assert 'class="holiday overridden" title="本市调休" data-date="2027-01-11"' in calendar


def test_the_import_page_imports_in_one_step_and_reports_bad_rows(personas, client, login, city):
    login(personas.supervisor)
    bad = schedule_xlsx([("2027-01-01", "休", "元旦"), ("2027-01-02", "放", "?"), ("2028-01-01", "休", "元旦")])
    r = client.post("/calendar/", {"form": "import", "i-file": bad})
    assert r.status_code == 200
    body = r.content.decode()
    assert "nothing was imported" in body or "未导入任何数据" in body
    assert not CalendarOverride.objects.exists() and not HolidaySchedule.objects.exists()
    r = client.post("/calendar/", {"form": "import", "i-file": schedule_xlsx(SCHEDULE_2027)})
    assert r.status_code == 302 and r.url.endswith("?year=2027")
    assert HolidaySchedule.objects.get().year == 2027


def test_import_errors_name_the_rows(personas):
    bad = schedule_xlsx([("2027-01-01", "休", "元旦"), ("2027-13-01", "休", ""), ("2027-01-03", "x", ""),
                         ("2027-01-01", "班", "")])
    with pytest.raises(ImportRejected) as exc:
        services.calendar_year_import(actor=personas.supervisor, upload=bad)
    assert [(e.row, e.column) for e in exc.value.errors] == [(4, "date"), (5, "kind"), (6, "date")]


def test_only_the_office_imports_and_a_bad_year_is_400(personas, client, login):
    with pytest.raises(Exception) as exc:
        services.calendar_year_import(actor=personas.handler_a, upload=schedule_xlsx(SCHEDULE_2027))
    assert type(exc.value).__name__ == "PermissionDenied"
    login(personas.supervisor)
    assert client.get("/calendar/?year=abc").status_code == 400
    assert client.get("/calendar/?year=1999").status_code == 400
