"""The installable app (docs/offline.md): manifest, the root service worker,
the pages kept for offline use and the outbox's writer check."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from django.contrib.staticfiles import finders
from PIL import Image

from inspections.models import Finding
from tests.inspections.helpers import jpeg, world


def test_the_service_worker_is_served_from_the_root_with_its_scope_and_no_cache(client):
    r = client.get("/sw.js")
    assert r.status_code == 200
    assert r["Content-Type"] == "text/javascript; charset=utf-8"
    assert r["Service-Worker-Allowed"] == "/"
    assert "no-cache" in r["Cache-Control"] or "max-age=0" in r["Cache-Control"]
    assert "script-src 'self'" in r["Content-Security-Policy"]
    config = json.loads(re.search(r"var CONFIG = (\{.*\});", r.content.decode()).group(1))
    assert "/static/js/outbox.js" in config["assets"] and "/offline/" in config["assets"]
    assert config["pages"] == ["/outbox/", "/findings/new/"]
    assert config["purgeOn"] == ["/accounts/login/", "/accounts/logout/"]
    # Everything it keeps is local: no other host anywhere in the worker.
    assert not re.search(r"https?://", r.content.decode())


def test_the_workers_version_changes_with_a_cached_file(client, settings, tmp_path):
    # Production computes the worker's configuration once per process; each step here is a new process.
    from civportal import pwa

    def config():
        pwa._cached_config.cache_clear()
        return json.loads(re.search(r"var CONFIG = (\{.*\});", client.get("/sw.js").content.decode()).group(1))

    first = config()
    extra = tmp_path / "static"
    (extra / "js").mkdir(parents=True)
    (extra / "js" / "extra.js").write_text("// one\n")
    settings.STATICFILES_DIRS = [*settings.STATICFILES_DIRS, str(extra)]
    settings.OFFLINE_SHELL_ASSETS = ["js/extra.js"]
    finders.get_finder.cache_clear()
    try:
        second = config()
        (extra / "js" / "extra.js").write_text("// two\n")
        third = config()
    finally:
        finders.get_finder.cache_clear()
        pwa._cached_config.cache_clear()
    assert len({first["version"], second["version"], third["version"]}) == 3


def test_the_manifest_names_the_app_and_its_local_icons(client):
    r = client.get("/manifest.webmanifest")
    assert r.status_code == 200 and r["Content-Type"] == "application/manifest+json"
    data = r.json()
    assert (data["name"], data["short_name"], data["display"], data["start_url"]) == (
        "文明城市创建工作平台", "创城", "standalone", "/")
    for icon in data["icons"]:
        found = finders.find(icon["src"].removeprefix("/static/"))
        assert found, icon
        with Image.open(found) as image:
            assert f"{image.width}x{image.height}" == icon["sizes"]
    assert {i["purpose"] for i in data["icons"]} == {"any", "maskable"}


def test_english_manifest(client):
    client.cookies["django_language"] = "en"
    assert client.get("/manifest.webmanifest", headers={"accept-language": "en"}).json()["short_name"] == "Campaign"


def test_field_pages_are_marked_for_offline_use_and_others_are_not(city, personas, login):
    world(city, personas)
    client = login(personas.inspector)
    form = client.get("/findings/new/")
    assert form["X-Offline-Page"] == "1"
    assert 'data-offline' in form.content.decode() and 'data-client-id' in form.content.decode()
    assert "X-Offline-Page" not in client.get("/findings/")
    assert client.get("/outbox/")["X-Offline-Page"] == "1"


def test_every_page_shows_the_unsent_badge_and_loads_the_outbox_scripts(city, personas, login):
    body = login(personas.handler_a).get("/workbench/").content.decode()
    assert 'id="outbox-badge"' in body and f'data-user="{personas.handler_a.pk}"' in body
    assert 'data-template="%(count)s条未发送"' in body
    assert "js/outbox.js" in body and "js/offline.js" in body and 'rel="manifest"' in body


def test_the_offline_page_shows_nobodys_data(city, personas, login):
    body = login(personas.inspector).get("/offline/").content.decode()
    assert "无网络" in body and personas.inspector.username not in body and str(personas.inspector) not in body


def test_the_outbox_page_needs_sign_in(client):
    r = client.get("/outbox/")
    assert r.status_code == 302 and r.url.startswith("/accounts/login/")


@pytest.mark.parametrize("writer", ["other", "anonymous"])
def test_a_draft_sent_in_someone_elses_session_is_refused_and_records_nothing(writer, city, personas, login, client):
    w = world(city, personas)
    sender = login(personas.supervisor) if writer == "other" else client
    r = sender.post("/findings/new/", {
        "source": "inspection", "point": w.point_a.pk, "category": w.category.pk, "description": "别人的草稿",
        "photos": [jpeg()], "client_id": str(uuid.uuid4())},
        headers={"accept": "application/json", "x-outbox-user": str(personas.inspector.pk)})
    assert r.status_code == 403 and r.json()["code"] == "outbox_user"
    assert "登录" in r.json()["detail"]
    assert not Finding.objects.exists()


def test_a_draft_sent_by_its_writer_answers_json_without_a_flash_message(city, personas, login):
    w = world(city, personas)
    client = login(personas.inspector)
    r = client.post("/findings/new/", {
        "source": "inspection", "point": w.point_a.pk, "category": w.category.pk, "description": "无信号时登记",
        "photos": [jpeg()], "client_id": str(uuid.uuid4())},
        headers={"accept": "application/json", "x-outbox-user": str(personas.inspector.pk)})
    assert r.status_code == 201 and r.json()["id"] == Finding.objects.get().pk
    # Sent in the background: no "recorded" message waits for the next page the person opens.
    assert "msg-success" not in client.get("/workbench/").content.decode()
