"""Journeys (2)–(4) of issue 7: the rectification loop in the browser.

(2) an inspector at phone size records a finding with a photo and the GPS;
(3) the handler (经办人) accepts the task and reports the fix with an "after" photo;
(4) the office returns it once, the handler reports again, the office verifies it.
"""

import os
import re

import pytest
from django.utils import translation

from inspections import services
from inspections.models import Finding, FindingPhoto, RectificationTask, SubmissionPhoto, TaskEvent
from civportal.storage import photo_storage
from tests.factories import PASSWORD

from . import seed
from .conftest import DESKTOP, PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

Status = RectificationTask.Status
Action = TaskEvent.Action


def zh(label) -> str:
    with translation.override("zh-hans"):
        return str(label)


def field(scope, label: str):
    """The input labelled exactly ``label`` (a required field's label ends with " *")."""
    return scope.get_by_label(re.compile(rf"^{re.escape(label)}(\s*\*)?$"))


def _stored(photo) -> bool:
    if os.environ.get("AWS_STORAGE_BUCKET_NAME"):  # the S3 job (.ci/run): an object in the bucket, over HTTP
        assert type(photo.image.storage).__name__ == "S3Storage", type(photo.image.storage)
    return bool(photo.image.name) and photo_storage().exists(photo.image.name)


def _submit(page, name: str):
    with page.expect_navigation():
        page.locator("main").get_by_role("button", name=name, exact=True).click()


def test_inspector_records_a_finding_with_a_photo_on_a_phone(journey, city, personas, tmp_path):
    w = seed.world(city, personas)
    before = Finding.objects.count()
    picture = seed.photo_file(tmp_path, "现场照片.jpg", colour=(170, 120, 70))
    j = journey(PHONE, geolocation={"latitude": seed.HERE[0], "longitude": seed.HERE[1], "accuracy": 10},
                permissions=["geolocation"])
    j.login(personas.inspector.username, PASSWORD)
    j.goto("/findings/new/")
    main = j.page.locator("main")
    assert main.get_by_role("heading", level=1).inner_text() == "登记问题"

    main.get_by_role("button", name="使用我的位置").click()
    main.get_by_role("status").filter(has_text="已定位").wait_for()
    assert field(main, "纬度").input_value() == f"{seed.HERE[0]:.6f}"
    assert field(main, "经度").input_value() == f"{seed.HERE[1]:.6f}"
    # The nearest point comes first and, within 200 m, is chosen.
    point = field(main, "点位")
    assert point.input_value() == str(w.points.market.pk)
    assert point.locator("option").nth(1).inner_text().startswith("春晖农贸市场")

    field(main, "类别").select_option(label="垃圾桶满溢、破损")
    field(main, "严重程度").select_option("moderate")
    field(main, "说明").fill("市场北门两个垃圾桶满溢，周边散落垃圾")
    field(main, "位置").fill("春晖农贸市场北门")
    field(main, "整改前照片").set_input_files(str(picture))
    j.page.evaluate("document.activeElement.blur()")  # no focus ring in the screenshot
    j.screenshot("phone-finding-form")
    _submit(j.page, "保存问题")

    assert re.search(r"/findings/\d+/$", j.page.url), j.page.url
    assert main.locator(".msg-success").count() == 1
    assert Finding.objects.count() == before + 1
    finding = Finding.objects.latest("pk")
    assert j.page.url.endswith(f"/findings/{finding.pk}/")
    assert (finding.point, finding.unit, finding.category.code, finding.severity, finding.status) == (
        w.points.market, city.community_a1, "HJWS-04", "moderate", Finding.Status.NEW)
    assert finding.reporter == personas.inspector and finding.campaign == w.campaign
    assert finding.description == "市场北门两个垃圾桶满溢，周边散落垃圾"
    assert (float(finding.latitude), float(finding.longitude)) == seed.HERE
    photos = list(FindingPhoto.objects.filter(finding=finding))
    assert len(photos) == 1 and _stored(photos[0])
    # The detail page shows the photo, served by the permission-checked view.
    image = main.get_by_role("img", name="整改前照片 1")
    assert image.get_attribute("src") == f"/photos/finding/{photos[0].pk}/thumb/"
    _loaded(j.page, image)


def _loaded(page, img):
    """Wait until a (lazy-loaded) image has really been fetched and decoded."""
    img.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())


def test_handler_accepts_and_reports_the_fix_with_an_after_photo(journey, city, personas, tmp_path):
    w = seed.world(city, personas)
    task = w.tasks.garbage
    after = seed.photo_file(tmp_path, "整改后.jpg", colour=(90, 150, 90), stripe=(250, 250, 250))
    j = journey(PHONE)
    j.login(personas.handler_a.username, PASSWORD)
    j.goto(f"/tasks/{task.pk}/")
    main = j.page.locator("main")
    assert zh(Status.ASSIGNED.label) in main.get_by_role("heading", level=1).inner_text()

    accept = main.locator("form").filter(has=j.page.get_by_role("button", name="签收任务"))
    field(accept, "说明").fill("已收到，马上安排保洁人员")
    _submit(j.page, "签收任务")
    assert zh(Status.IN_PROGRESS.label) in main.get_by_role("heading", level=1).inner_text()

    field(main, "整改情况说明").fill("已清运堆放垃圾，增设两个分类垃圾桶，落实专人保洁")
    field(main, "整改后照片").set_input_files(str(after))
    _submit(j.page, "报结")
    assert zh(Status.SUBMITTED.label) in main.get_by_role("heading", level=1).inner_text()

    task.refresh_from_db()
    assert task.status == Status.SUBMITTED and task.accepted_at and task.submitted_at
    submission = task.submissions.get()
    assert submission.submitted_by == personas.handler_a and submission.note.startswith("已清运堆放垃圾")
    after_photos = list(SubmissionPhoto.objects.filter(submission=submission))
    assert len(after_photos) == 1 and _stored(after_photos[0])
    assert list(task.events.order_by("pk").values_list("action", "actor")) == [
        (Action.DISPATCH, personas.supervisor.pk), (Action.ACCEPT, personas.handler_a.pk),
        (Action.SUBMIT, personas.handler_a.pk)]

    # Before and after side by side, both images really loaded.
    compare = main.locator(".compare")
    before_img = compare.get_by_role("img", name="整改前照片 1")
    after_img = compare.get_by_role("img", name="整改后照片 1")
    assert after_img.get_attribute("src") == f"/photos/submission/{after_photos[0].pk}/thumb/"
    for img in (before_img, after_img):
        _loaded(j.page, img)
    b, a = before_img.bounding_box(), after_img.bounding_box()
    assert b["x"] + b["width"] <= a["x"], (b, a)  # before on the left, after on the right
    assert abs(compare.get_by_role("heading", name="整改前").bounding_box()["y"]
               - compare.get_by_role("heading", name="整改后").bounding_box()["y"]) < 2


def test_supervisor_returns_once_then_verifies_and_the_timeline_shows_who(journey, city, personas):
    w = seed.world(city, personas)
    task = services.task_accept(actor=personas.handler_a, task=w.tasks.garbage)
    services.task_submit(actor=personas.handler_a, task=task, note="已清理", photos_in=[seed.upload("a.jpg")])

    office = journey(DESKTOP)
    office.login(personas.supervisor.username, PASSWORD)
    office.goto(f"/tasks/{task.pk}/")
    main = office.page.locator("main")
    verify = main.locator("form").filter(has=office.page.get_by_role("button", name="核查通过"))
    # Returning needs a reason: without one nothing changes and the page says why.
    _submit(office.page, "退回重新整改")
    assert main.locator(".msg-error").count() == 1
    task.refresh_from_db()
    assert task.status == Status.SUBMITTED
    field(verify, "说明").fill("垃圾桶周边仍有散落垃圾，请彻底清理")
    _submit(office.page, "退回重新整改")
    assert zh(Status.RETURNED.label) in main.get_by_role("heading", level=1).inner_text()
    task.refresh_from_db()
    assert (task.status, task.rework_count) == (Status.RETURNED, 1)

    unit = journey(PHONE)
    unit.login(personas.handler_a.username, PASSWORD)
    unit.goto(f"/tasks/{task.pk}/")
    umain = unit.page.locator("main")
    assert "垃圾桶周边仍有散落垃圾" in umain.locator(".compare").inner_text()
    field(umain, "整改情况说明").fill("已彻底清理周边散落垃圾，并安排每日两次巡查")
    field(umain, "整改后照片").set_input_files(files=[{
        "name": "复查.jpg", "mimeType": "image/jpeg", "buffer": seed.photo_bytes(colour=(80, 160, 90))}])
    _submit(unit.page, "报结")
    assert zh(Status.SUBMITTED.label) in umain.get_by_role("heading", level=1).inner_text()

    office.goto(f"/tasks/{task.pk}/")
    field(verify, "说明").fill("复查合格")
    _submit(office.page, "核查通过")
    assert zh(Status.CLOSED.label) in main.get_by_role("heading", level=1).inner_text()
    task.refresh_from_db()
    task.finding.refresh_from_db()
    assert (task.status, task.rework_count, task.closed_by) == (Status.CLOSED, 1, personas.supervisor)
    assert task.finding.status == Finding.Status.CLOSED
    assert list(task.submissions.order_by("round").values_list("round", "outcome")) == [
        (1, "failed"), (2, "passed")]

    # Every transition in the timeline, in order, with who did it.
    steps = [
        (Action.DISPATCH, personas.supervisor), (Action.ACCEPT, personas.handler_a),
        (Action.SUBMIT, personas.handler_a), (Action.VERIFY_FAIL, personas.supervisor),
        (Action.SUBMIT, personas.handler_a), (Action.VERIFY_PASS, personas.supervisor)]
    assert list(task.events.order_by("pk").values_list("action", "actor")) == [(a, u.pk) for a, u in steps]
    items = main.locator(".timeline li").all_inner_texts()
    assert len(items) == len(steps), items
    for text, (action, who) in zip(items, steps):
        assert zh(Action(action).label) in text and who.display_name in text, (text, action, who)
    S = {s: zh(s.label) for s in Status}
    assert f"{S[Status.ASSIGNED]} → {S[Status.IN_PROGRESS]}" in items[1]
    assert f"{S[Status.SUBMITTED]} → {S[Status.RETURNED]}" in items[3]
    assert f"{S[Status.RETURNED]} → {S[Status.SUBMITTED]}" in items[4]
    assert f"{S[Status.SUBMITTED]} → {S[Status.CLOSED]}" in items[5]
