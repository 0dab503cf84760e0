"""Notices (issue 20, acceptance 2): a notice to all streets of one district
reaches each street's handler; read receipts per unit are exact; "remind the
unread" notifies only those, once per reminder."""

from __future__ import annotations

import io
import threading
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from openpyxl import load_workbook

from campaigns.models import Membership, Unit
from civportal.errors import Conflict
from notices import services
from notices.models import Notice, NoticeReceipt, NoticeReminder
from notifications.models import Event, Notification
from tests.factories import make_member, make_unit

Role = Membership.Role


@pytest.fixture
def streets(city, personas):
    """District A with four streets, a handler each (street A1 already exists); district B's street has one too."""
    extra = [make_unit(city.district_a, kind=Unit.Kind.STREET, name=f"第{i}街道", code=f"C-A-{i}") for i in (2, 3, 4)]
    units = [city.street_a1, *extra]
    handlers = [make_member(unit, Role.HANDLER, f"street_handler_{i}") for i, unit in enumerate(units, start=1)]
    district_supervisor = make_member(city.district_a, Role.SUPERVISOR, "a_office")
    b_handler = make_member(city.street_b1, Role.HANDLER, "b_street_handler")
    return SimpleNamespace(units=units, handlers=handlers, district_supervisor=district_supervisor, b_handler=b_handler)


def publish(actor, city, **kwargs):
    return services.notice_publish(actor=actor, title="关于开展背街小巷整治的通知", body="请各街道**本周内**完成自查。",
                                   target_root=city.district_a, target_kinds=[Unit.Kind.STREET], **kwargs)


def test_a_notice_to_all_streets_reaches_each_street_handler_and_no_one_else(city, personas, streets, login):
    notice = publish(streets.district_supervisor, city)
    assert set(notice.receipts.values_list("unit__code", flat=True)) == {u.code for u in streets.units}
    inboxed = set(Notification.objects.filter(event=Event.NOTICE_PUBLISHED).values_list("recipient__username", flat=True))
    assert {h.username for h in streets.handlers} <= inboxed
    assert personas.handler_b.username not in inboxed and streets.b_handler.username not in inboxed
    assert personas.handler_a.username not in inboxed  # district A's own clerk: not a street
    for handler in streets.handlers:
        client = login(handler)
        home = client.get("/")
        assert notice.title in home.content.decode()
        listed = [n.pk for n in client.get("/notices/").context["page"]]
        assert listed == [notice.pk]
    client = login(streets.b_handler)
    assert client.get("/notices/").context["page"].object_list.count() == 0
    assert client.get(f"/notices/{notice.pk}/").status_code == 404
    assert login(personas.handler_a).get(f"/notices/{notice.pk}/").status_code == 404


def test_read_receipts_per_unit_are_exact_and_remind_notifies_only_the_unread_once(city, personas, streets, login, api):
    notice = publish(streets.district_supervisor, city)
    # Two streets open it: the page marks their unit read (first reader wins); the API's read does the same.
    login(streets.handlers[0]).get(f"/notices/{notice.pk}/")
    assert api(streets.handlers[2]).post(f"/api/v1/notices/{notice.pk}/read/").json() == {"marked": 1}
    assert api(streets.handlers[2]).post(f"/api/v1/notices/{notice.pk}/read/").json() == {"marked": 0}
    rows = api(streets.district_supervisor).get(f"/api/v1/notices/{notice.pk}/receipts/").json()["results"]
    read = {r["unit_code"]: r["read_by"] for r in rows}
    assert read == {"C-A-1": "street_handler_1", "C-A-2": None, "C-A-3": "street_handler_3", "C-A-4": None}
    assert Notification.objects.get(recipient=streets.handlers[0], event=Event.NOTICE_PUBLISHED).read_at is not None

    response = api(streets.district_supervisor).post(f"/api/v1/notices/{notice.pk}/remind/", {"expected": 0})
    assert response.status_code == 200
    assert response.json() == {"number": 1, "reminded_units": ["C-A-2", "C-A-4"]}
    reminded = set(Notification.objects.filter(event=Event.NOTICE_REMINDER).values_list("recipient__username", flat=True))
    assert reminded == {"street_handler_2", "street_handler_4"}
    # The same reminder again (a double click, a retry): refused, nobody notified twice.
    again = api(streets.district_supervisor).post(f"/api/v1/notices/{notice.pk}/remind/", {"expected": 0})
    assert again.status_code == 409
    assert Notification.objects.filter(event=Event.NOTICE_REMINDER).count() == 2
    assert NoticeReminder.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_reminders_claim_the_number_once(city, personas, streets, on_postgresql):
    notice = publish(streets.district_supervisor, city)
    results, barrier = [], threading.Barrier(2)

    def remind():
        try:
            barrier.wait()
            results.append(services.notice_remind(actor=streets.district_supervisor, notice=notice, expected=0)[0])
        except Conflict:
            results.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=remind) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(map(str, results)) == ["1", "conflict"]
    assert NoticeReminder.objects.count() == 4  # four unread streets, reminder 1 once each


def test_only_supervisors_over_the_target_publish_and_remind(city, personas, streets, api, login):
    response = api(personas.head_a).post("/api/v1/notices/", {"title": "x", "target_root": city.district_a.pk})
    assert response.status_code == 403
    response = api(streets.district_supervisor).post("/api/v1/notices/", {"title": "x", "target_root": city.district_b.pk})
    assert response.status_code == 400  # district B is outside the sender's scope
    notice = publish(personas.supervisor, city)
    assert notice.sender_unit == city.city
    assert api(streets.handlers[0]).post(f"/api/v1/notices/{notice.pk}/remind/").status_code == 404
    assert api(streets.handlers[0]).get(f"/api/v1/notices/{notice.pk}/receipts/").status_code == 404
    assert login(streets.handlers[0]).get(f"/notices/{notice.pk}/receipts/").status_code == 404


def test_body_is_markdown_with_html_escaped(city, streets, login):
    notice = publish(streets.district_supervisor, city)
    Notice.objects.filter(pk=notice.pk).update(body="**要点**\n<script>alert(1)</script>\n[x](javascript:alert(1))")
    page = login(streets.handlers[0]).get(f"/notices/{notice.pk}/").content.decode()
    assert "<strong>要点</strong>" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert 'href="javascript:' not in page


def test_attachments_download_only_in_scope_and_replies_with_files(city, personas, streets, login):
    pdf = SimpleUploadedFile("方案.pdf", b"%PDF-1.4 plan", content_type="application/pdf")
    notice = publish(streets.district_supervisor, city, files=[pdf], reply_required=True)
    attachment = notice.attachments.get()
    response = login(streets.handlers[1]).get(f"/notices/attachments/{attachment.pk}/")
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content) == b"%PDF-1.4 plan"
    assert login(streets.b_handler).get(f"/notices/attachments/{attachment.pk}/").status_code == 404
    with pytest.raises(Exception):
        services.notice_publish(actor=streets.district_supervisor, title="t", target_root=city.district_a,
                                files=[SimpleUploadedFile("x.exe", b"MZ")])
    client = login(streets.handlers[1])
    response = client.post(f"/notices/{notice.pk}/reply/", {
        "text": "已完成自查", "file": SimpleUploadedFile("自查表.xlsx", b"PK\x03\x04")})
    assert response.status_code == 302
    receipt = NoticeReceipt.objects.get(notice=notice, unit=streets.units[1])
    assert receipt.replied_at is not None and receipt.read_at is not None
    page = login(streets.district_supervisor).get(f"/notices/{notice.pk}/").content.decode()
    assert "已完成自查" in page and "自查表.xlsx" in page
    other = login(streets.handlers[0]).get(f"/notices/{notice.pk}/").content.decode()
    assert "已完成自查" not in other  # units see their own replies only


def test_pinned_first_expired_hidden_search_and_exports(city, personas, streets, login):
    import datetime as dt

    from django.utils import timezone

    first = publish(streets.district_supervisor, city)
    pinned = services.notice_publish(actor=streets.district_supervisor, title="置顶：创城会议安排", target_root=city.district_a,
                                     target_kinds=[Unit.Kind.STREET], pinned=True, kind=Notice.Kind.MEETING)
    expired = publish(streets.district_supervisor, city)
    Notice.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - dt.timedelta(hours=1))
    client = login(streets.handlers[0])
    assert [n.pk for n in client.get("/notices/").context["page"]] == [pinned.pk, first.pk]
    assert expired.pk in [n.pk for n in client.get("/notices/", {"expired": "true"}).context["page"]]
    assert [n.pk for n in client.get("/notices/", {"q": "会议"}).context["page"]] == [pinned.pk]
    client.get(f"/notices/{first.pk}/")
    sender = login(streets.district_supervisor)
    response = sender.get(f"/notices/{first.pk}/receipts.xlsx")
    rows = list(load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.iter_rows(values_only=True))
    assert [(r[0], r[3]) for r in rows[1:]] == [("C-A-1", "已读"), ("C-A-2", "未读"), ("C-A-3", "未读"), ("C-A-4", "未读")]
    response = sender.get("/notices/export.xlsx")
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.iter_rows(values_only=True))
    assert {r[0] for r in rows[1:]} == {pinned.title, first.title}


def test_english_mode_pages(city, streets, login):
    notice = publish(streets.district_supervisor, city)
    client = login(streets.district_supervisor)
    client.cookies["django_language"] = "en"
    page = client.get(f"/notices/{notice.pk}/receipts/").content.decode()
    assert "Read receipts" in page and "Remind the units that have not read it" in page


@pytest.mark.parametrize("page_size", [1, 50])
def test_notice_lists_do_not_grow_with_page_size(city, personas, streets, login, api, page_size,
                                                 django_assert_max_num_queries):
    for i in range(55):
        publish(streets.district_supervisor, city)
    notice = Notice.objects.first()
    handler, sender = api(streets.handlers[0]), api(streets.district_supervisor)
    sender.get("/api/v1/notices/")  # creates the tokens outside the counted requests
    handler.get("/api/v1/notices/")
    for user in (streets.handlers[0], streets.district_supervisor):
        client = login(user)
        with django_assert_max_num_queries(8):
            assert client.get("/notices/", {"per_page": page_size}).status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get(f"/notices/{notice.pk}/receipts/", {"per_page": page_size}).status_code == 200
    with django_assert_max_num_queries(8):
        assert handler.get("/api/v1/notices/", {"limit": page_size}).status_code == 200
    with django_assert_max_num_queries(8):
        assert sender.get(f"/api/v1/notices/{notice.pk}/receipts/", {"limit": page_size}).status_code == 200
