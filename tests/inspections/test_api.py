"""The loop over the REST API: transitions, 409 on stale ones, uploads, filters."""

from __future__ import annotations

import io
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from inspections import photos
from inspections.models import Finding, FindingPhoto, RectificationTask, TaskEvent

from .helpers import dispatched, finding, jpeg, jpeg_with_gps, png_bomb, submitted, text_as_jpeg, truncated_jpeg, world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(city, personas):
    return world(city, personas)


def test_loop_over_the_api(w, personas, api):
    office, unit = api(personas.supervisor), api(personas.handler_a)
    f = finding(w, personas)
    r = office.post(f"/api/v1/findings/{f.pk}/dispatch/", {"instructions": "尽快"}, format="json")
    assert r.status_code == 201, r.content
    task_id = r.json()["id"]
    assert r.json()["light"] == "green" and r.json()["status"] == "assigned"
    assert unit.post(f"/api/v1/tasks/{task_id}/accept/", {}, format="json").json()["status"] == "in_progress"
    r = unit.post(f"/api/v1/tasks/{task_id}/submit/", {"note": "已清理", "photos": [jpeg("a.jpg")]},
                  format="multipart")
    assert r.status_code == 200 and r.json()["status"] == "submitted", r.content
    r = office.post(f"/api/v1/tasks/{task_id}/return/", {"note": "未清理干净"}, format="json")
    assert (r.json()["status"], r.json()["rework_count"]) == ("returned", 1)
    unit.post(f"/api/v1/tasks/{task_id}/submit/", {"note": "再次清理", "photos": [jpeg("b.jpg")]}, format="multipart")
    r = office.post(f"/api/v1/tasks/{task_id}/verify/", {}, format="json")
    assert r.json()["status"] == "closed"
    events = unit.get(f"/api/v1/tasks/{task_id}/events/").json()
    assert [e["action"] for e in events] == ["dispatch", "accept", "submit", "verify_fail", "submit", "verify_pass"]
    submissions = unit.get(f"/api/v1/tasks/{task_id}/submissions/").json()
    assert [s["outcome"] for s in submissions] == ["failed", "passed"]
    assert submissions[1]["photos"][0]["url"].startswith("http://testserver/photos/submission/")
    assert office.get(f"/api/v1/findings/{f.pk}/").json()["status"] == "closed"


def test_stale_transition_answers_409_with_a_clear_message(w, personas, api):
    task = submitted(w, personas)
    office = api(personas.supervisor)
    assert office.post(f"/api/v1/tasks/{task.pk}/verify/", {}, format="json").status_code == 200
    r = office.post(f"/api/v1/tasks/{task.pk}/return/", {"note": "晚了"}, format="json")
    assert r.status_code == 409
    assert r.json()["code"] == "conflict" and r.json()["detail"]
    assert RectificationTask.objects.get(pk=task.pk).rework_count == 0


def test_extension_request_and_decision_over_the_api(w, personas, api):
    task = dispatched(w, personas)
    new_due = (task.due_at.replace(microsecond=0) + __import__("datetime").timedelta(days=4)).isoformat()
    r = api(personas.handler_a).post(f"/api/v1/tasks/{task.pk}/request-extension/",
                                     {"requested_due_at": new_due, "reason": "需采购材料"}, format="json")
    assert r.status_code == 201, r.content
    assert api(personas.supervisor).get(f"/api/v1/tasks/{task.pk}/").json()["pending_extension"]["id"] == r.json()["id"]
    r = api(personas.supervisor).post(f"/api/v1/tasks/{task.pk}/decide-extension/", {"approve": True}, format="json")
    assert r.status_code == 200 and r.json()["extension_count"] == 1 and r.json()["pending_extension"] is None


def test_escalate_and_void_over_the_api(w, personas, api):
    task = dispatched(w, personas)
    office = api(personas.supervisor)
    assert office.post(f"/api/v1/tasks/{task.pk}/escalate/", {"level": "listed"}, format="json").json()[
        "supervision"] == "listed"
    assert office.post(f"/api/v1/tasks/{task.pk}/escalate/", {}, format="json").status_code == 409
    assert office.post(f"/api/v1/tasks/{task.pk}/void/", {}, format="json").status_code == 400
    assert office.post(f"/api/v1/tasks/{task.pk}/void/", {"reason": "派错"}, format="json").json()["status"] == "void"


def test_hotline_ingest_is_idempotent_200_on_repeat(w, personas, api):
    body = {"source": "hotline", "external_id": "H-77", "category": w.category.pk, "description": "路灯不亮",
            "unit": w.point_a.unit.pk}
    office = api(personas.supervisor)
    first = office.post("/api/v1/findings/", body, format="json")
    again = office.post("/api/v1/findings/", body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and first.json()["status"] == "new"


def test_inspector_records_a_finding_with_photos_by_multipart(w, personas, api):
    r = api(personas.inspector).post("/api/v1/findings/", {
        "visit": w.visit_a.pk, "category": w.category.pk, "description": "垃圾", "severity": "severe",
        "photos": [jpeg("1.jpg"), jpeg("2.jpg")]}, format="multipart")
    assert r.status_code == 201, r.content
    assert len(r.json()["photos"]) == 2 and r.json()["unit"] == w.point_a.unit.pk


def test_out_of_scope_ids_in_a_body_are_invalid_not_leaked(w, personas, api):
    r = api(personas.handler_b).post("/api/v1/findings/", {
        "visit": w.visit_a.pk, "category": w.category.pk, "description": "x"}, format="json")
    assert r.status_code in (400, 403)
    assert not Finding.objects.exists()


def test_duplicates_and_mark_duplicate_over_the_api(w, personas, api):
    original = finding(w, personas)
    office = api(personas.supervisor)
    r = office.post("/api/v1/findings/", {"source": "citizen", "category": w.category.pk, "description": "同一处垃圾",
                                          "point": w.point_a.pk}, format="json")
    new_id = r.json()["id"]
    assert [f["id"] for f in office.get(f"/api/v1/findings/{new_id}/duplicates/").json()] == [original.pk]
    r = office.post(f"/api/v1/findings/{new_id}/mark-duplicate/", {"original": original.pk}, format="json")
    assert r.json()["status"] == "duplicate" and r.json()["duplicate_of"] == original.pk


def test_filters_overdue_light_and_unit_subtree(w, personas, api):
    import datetime as dt

    import time_machine

    late = dispatched(w, personas)
    fresh = dispatched(w, personas, visit=w.visit_b)
    office = api(personas.supervisor)
    with time_machine.travel(late.due_at + dt.timedelta(hours=1)):
        RectificationTask.objects.filter(pk=fresh.pk).update(due_at=late.due_at + dt.timedelta(days=30),
                                                             warn_at=late.due_at + dt.timedelta(days=20))
        ids = lambda url: [row["id"] for row in office.get(url).json()["results"]]  # noqa: E731
        assert ids("/api/v1/tasks/?overdue=true") == [late.pk]
        assert ids("/api/v1/tasks/?light=red") == [late.pk]
        assert ids("/api/v1/tasks/?light=green") == [fresh.pk]
        assert ids("/api/v1/findings/?overdue=true") == [late.finding_id]
    assert ids(f"/api/v1/tasks/?within={w.point_b.unit.code}") == [fresh.pk]
    assert ids(f"/api/v1/findings/?within={w.point_a.unit.pk}") == [late.finding_id]
    assert office.get("/api/v1/tasks/?within=NOPE").status_code == 400


# --- uploads -----------------------------------------------------------------------------------


@pytest.fixture
def upload(w, personas, api):
    def _upload(files):
        return api(personas.inspector).post("/api/v1/findings/", {
            "visit": w.visit_a.pk, "category": w.category.pk, "description": "垃圾", "photos": files},
            format="multipart")
    return _upload


def _message(response) -> str:
    body = response.json()
    return " ".join(body["errors"]["photos"]) if "errors" in body else body["detail"]


def test_upload_over_10_mb_is_400(upload, settings):
    big = SimpleUploadedFile("big.jpg", b"\xff\xd8\xff" + b"0" * (photos.MAX_BYTES + 1), content_type="image/jpeg")
    r = upload([big])
    assert r.status_code == 400 and "10 MB" in _message(r)
    assert not Finding.objects.exists()


def test_text_file_named_jpg_is_400(upload):
    r = upload([text_as_jpeg()])
    assert r.status_code == 400 and "JPEG" in _message(r)


def test_decompression_bomb_is_400_not_500(upload):
    r = upload([png_bomb()])
    assert r.status_code == 400, r.content
    assert "40" in _message(r)


def test_bomb_just_above_the_cap_is_refused_before_decoding(upload):
    r = upload([png_bomb(width=8000, height=6000)])
    assert r.status_code == 400


def test_truncated_jpeg_is_400(upload):
    r = upload([truncated_jpeg()])
    assert r.status_code == 400 and "notes.jpg" not in _message(r)


def test_one_bad_photo_stores_nothing(upload):
    assert upload([jpeg(), text_as_jpeg()]).status_code == 400
    assert not FindingPhoto.objects.exists()


def test_stored_photo_has_no_exif_and_a_random_name(upload, personas, api):
    original = jpeg_with_gps("IMG_home_address.jpg")
    assert Image.open(io.BytesIO(original.read())).getexif().get_ifd(0x8825)  # the fixture really has GPS
    original.seek(0)
    r = upload([original])
    assert r.status_code == 201, r.content
    photo = FindingPhoto.objects.get()
    assert "IMG_home_address" not in photo.image.name and "IMG_home_address" not in photo.thumbnail.name
    body = api(personas.supervisor).get(r.json()["photos"][0]["url"])
    assert body.status_code == 200 and body["Content-Type"] == "image/jpeg"
    content = b"".join(body.streaming_content)
    image = Image.open(io.BytesIO(content))
    assert not image.getexif() and b"PhoneMaker" not in content and "exif" not in image.info


def test_png_and_webp_are_accepted_and_re_encoded(upload):
    files = []
    for fmt in ("PNG", "WEBP"):
        out = io.BytesIO()
        Image.new("RGBA", (40, 30), (0, 0, 255, 128)).save(out, format=fmt)
        files.append(SimpleUploadedFile(f"x.{fmt.lower()}", out.getvalue()))
    assert upload(files).status_code == 201
    assert set(FindingPhoto.objects.values_list("content_type", flat=True)) == {"image/jpeg"}


def test_photo_url_is_404_for_another_districts_user_and_needs_login(w, personas, api, client):
    f = finding(w, personas)
    photo = f.photos.get()
    url = f"/photos/finding/{photo.pk}/full/"
    assert api(personas.handler_a).get(url).status_code == 200
    assert api(personas.handler_b).get(url).status_code == 404
    assert api(personas.outsider).get(url).status_code == 404
    assert api().get(url).status_code in (401, 403)
    assert api(personas.handler_a).get(f"/photos/finding/{photo.pk}/other/").status_code == 404
    assert api(personas.handler_a).get(f"/photos/elsewhere/{photo.pk}/full/").status_code == 404


def test_photos_are_not_under_the_public_media_url(w, personas, client, settings):
    f = finding(w, personas)
    photo = f.photos.get()
    if settings.AWS_STORAGE_BUCKET_NAME:  # object storage: under private/ in the bucket, public media/ elsewhere
        assert photo.image.storage.location == "private" and photo.image.storage.default_acl is None
    else:
        assert photo.image.path.startswith(str(settings.PRIVATE_MEDIA_ROOT))
        assert not photo.image.path.startswith(str(settings.MEDIA_ROOT))
    assert client.get(f"/media/{photo.image.name}").status_code == 404


def test_add_photos_endpoint_validates_the_same_way(w, personas, api):
    f = finding(w, personas)
    r = api(personas.inspector).post(f"/api/v1/findings/{f.pk}/photos/", {"photos": [truncated_jpeg()]},
                                     format="multipart")
    assert r.status_code == 400
    r = api(personas.inspector).post(f"/api/v1/findings/{f.pk}/photos/", {"photos": [jpeg()]}, format="multipart")
    assert r.status_code == 201 and f.photos.count() == 2


def test_submission_photos_validated_too(w, personas, api):
    task = dispatched(w, personas)
    unit = api(personas.handler_a)
    unit.post(f"/api/v1/tasks/{task.pk}/accept/", {}, format="json")
    r = unit.post(f"/api/v1/tasks/{task.pk}/submit/", {"note": "好了", "photos": [png_bomb()]}, format="multipart")
    assert r.status_code == 400
    task.refresh_from_db()
    assert task.status == "in_progress" and not TaskEvent.objects.filter(action="submit").exists()


def test_unexpected_pillow_failure_is_still_400(upload):
    with mock.patch("inspections.photos.Image.open", side_effect=OSError("broken")):
        assert upload([jpeg()]).status_code == 400
