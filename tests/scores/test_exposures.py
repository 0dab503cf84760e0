"""Issue 17, acceptance 5: an exposed finding appears on the public 曝光台 only
after the photo-review confirmation; withdrawal removes it; both are in the history."""

from __future__ import annotations

import pytest

from scores.models import Exposure
from tests.inspections.helpers import finding, world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(city, personas, settings, tmp_path):
    settings.PUBLIC_ANNOUNCEMENTS = True
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    w = world(city, personas)
    w.f = finding(w, personas, severity="severe", description="菜场门口污水横流")
    return w


def test_exposed_only_after_the_photo_review_and_withdrawal_removes_it(api, client, w, personas):
    office = api(personas.supervisor)
    r = office.post("/api/v1/exposures/", {"finding": w.f.pk, "note": "逾期未整改"}, format="json")
    assert r.status_code == 201, r.content
    exposure_id = r.json()["id"]
    assert r.json()["is_public"] is False
    photo_id = w.f.photos.get().pk
    assert "菜场门口" not in client.get("/public/exposures/").content.decode()
    assert 'data-exposure' not in client.get("/public/exposures/").content.decode()
    assert client.get(f"/public/exposures/photos/before/{photo_id}/").status_code == 404
    r = office.post(f"/api/v1/exposures/{exposure_id}/confirm-review/")
    assert r.status_code == 200 and r.json()["is_public"] is True
    page = client.get("/public/exposures/").content.decode()
    assert f'data-exposure="{exposure_id}"' in page and "春晖农贸市场" in page and "逾期未整改" in page
    assert client.get(f"/public/exposures/photos/before/{photo_id}/").status_code == 200
    assert office.post(f"/api/v1/exposures/{exposure_id}/withdraw/", {}, format="json").status_code == 400
    r = office.post(f"/api/v1/exposures/{exposure_id}/withdraw/", {"reason": "已整改到位"}, format="json")
    assert r.status_code == 200 and r.json()["is_public"] is False
    assert 'data-exposure' not in client.get("/public/exposures/").content.decode()
    assert client.get(f"/public/exposures/photos/before/{photo_id}/").status_code == 404
    history = list(Exposure.objects.get(pk=exposure_id).history.order_by("history_date"))
    assert len(history) == 3
    assert history[1].photos_reviewed_at is not None and history[2].withdraw_reason == "已整改到位"


def test_only_the_office_exposes_and_the_page_is_off_without_the_setting(api, client, w, personas, settings):
    assert api(personas.handler_a).post("/api/v1/exposures/", {"finding": w.f.pk}, format="json").status_code == 403
    r = api(personas.supervisor).post("/api/v1/exposures/", {"finding": w.f.pk, "photos_reviewed": True},
                                      format="json")
    assert r.status_code == 201 and r.json()["is_public"] is True
    again = api(personas.supervisor).post("/api/v1/exposures/", {"finding": w.f.pk}, format="json")
    assert again.status_code == 409
    settings.PUBLIC_ANNOUNCEMENTS = False
    assert client.get("/public/exposures/").status_code == 404
