"""Stored system texts are rendered in the reader's language (issue 20, acceptance 6):
a notification created in Chinese reads in English for an English reader."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext_lazy

from inspections.models import RectificationTask, TaskEvent
from notifications.models import Event, Notification
from notifications.services import Text, notify


def make(recipient):
    with translation.override("zh-hans"):
        return notify(
            event=Event.TASK_STATUS_CHANGED, recipients=[recipient],
            title=Text(gettext_lazy("Task #%(task)s: %(action)s"), {"task": 42, "action": TaskEvent.Action.ACCEPT.label}),
            body=Text(gettext_lazy("Task #%(task)s of %(unit)s — %(action)s; status now “%(status)s”."),
                      {"task": 42, "unit": "新村社区", "action": TaskEvent.Action.ACCEPT.label,
                       "status": RectificationTask.Status.IN_PROGRESS.label}),
        )[0]


def test_a_notification_created_in_chinese_reads_in_english(personas, city, login, api):
    notification = make(personas.handler_a)
    with translation.override("zh-hans"):
        chinese_title, chinese_body = notification.display_title, notification.display_body
    assert chinese_title == notification.title  # the stored text is the Chinese rendering
    with translation.override("en"):
        english_action = str(TaskEvent.Action.ACCEPT.label)
        english_status = str(RectificationTask.Status.IN_PROGRESS.label)
    assert english_action != chinese_title
    client = login(personas.handler_a)
    client.cookies["django_language"] = "en"
    page = client.get("/notifications/").content.decode()
    assert f"Task #42: {english_action}" in page
    assert f"Task #42 of 新村社区 — {english_action}; status now “{english_status}”." in page
    assert chinese_title not in page
    rows = api(personas.handler_a).get("/api/v1/notifications/", HTTP_ACCEPT_LANGUAGE="en").json()["results"]
    assert rows[0]["title"] == f"Task #42: {english_action}"
    rows = api(personas.handler_a).get("/api/v1/notifications/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()["results"]
    assert rows[0]["title"] == chinese_title


def test_free_text_and_rows_without_codes_stay_as_written(personas, city):
    written = notify(event=Event.TASK_STATUS_CHANGED, recipients=[personas.handler_a], title="请今天下班前回复", body="谢谢")[0]
    assert written.message == {}
    old = Notification.objects.create(recipient=personas.handler_a, event=Event.TASK_OVERDUE, title="任务 #7 已逾期")
    with translation.override("en"):
        assert written.display_title == "请今天下班前回复"
        assert old.display_title == "任务 #7 已逾期"


def test_no_stray_spaces_around_name_placeholders_in_chinese(personas, city):
    notification = make(personas.handler_a)
    with translation.override("zh-hans"):
        body = notification.display_body
    assert "新村社区 " not in body and " 新村社区" not in body


def test_automatic_escalation_note_reads_in_the_readers_language(loop, login):
    import time_machine

    from inspections import reminders
    from inspections.models import TaskEvent

    from .conftest import at

    task = loop.task(dispatched_at=at(2026, 9, 25, 9), due_at=at(2026, 9, 30, 23, 59, 59))
    for now in (at(2026, 10, 7, 12), at(2026, 10, 9, 9)):
        with time_machine.travel(now, tick=False):
            reminders.run_scan(inline=True)
    event = TaskEvent.objects.get(task=task, action=TaskEvent.Action.ESCALATE)
    assert event.note.startswith("自动")  # stored in the office's language
    with translation.override("en"):
        assert event.display_note == "Automatic: 1 working day(s) past the deadline."
    client = login(loop.personas.supervisor)
    client.cookies["django_language"] = "en"
    page = client.get(f"/tasks/{task.pk}/").content.decode()
    assert "Automatic: 1 working day(s) past the deadline." in page
