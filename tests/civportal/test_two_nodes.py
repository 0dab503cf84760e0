"""Two web nodes (two gunicorn processes, as behind the compose proxy):
a session and CSRF token from one node work on the other, and a photo
uploaded on one node is served, scope-checked, by the other. With
CIVPORTAL_TEST_STORAGE=s3 the photo goes through the S3 server."""

from __future__ import annotations

import http.cookiejar
import os
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest
from rest_framework.authtoken.models import Token

from tests.civportal.test_shared_cache import PORTS, get_health, start
from tests.factories import PASSWORD
from tests.inspections.helpers import finding, jpeg, world


@pytest.fixture
def nodes(tmp_path, project_root, settings):
    import time

    from tests.civportal.test_shared_cache import database_url

    env = {k: v for k, v in os.environ.items() if k != "CACHE_URL"}
    env.update(DATABASE_URL=database_url(), CIVPORTAL_VAR_DIR=str(tmp_path), CELERY_BROKER_URL="filesystem://",
               CACHE_URL="locmem://", PRIVATE_MEDIA_ROOT=str(settings.PRIVATE_MEDIA_ROOT),
               MEDIA_ROOT=str(settings.MEDIA_ROOT))
    servers = [start(port, env, project_root) for port in PORTS]
    try:
        deadline = time.monotonic() + 90
        for port, server in zip(PORTS, servers):
            while get_health(port) != 200:
                assert server.poll() is None, server.stderr.read().decode(errors="replace")[-2000:]
                assert time.monotonic() < deadline, "gunicorn did not come up"
                time.sleep(0.3)
        yield [f"http://127.0.0.1:{port}" for port in PORTS]
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=15)


@pytest.fixture
def private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


@pytest.mark.django_db(transaction=True)
def test_login_on_one_node_post_on_the_other_and_photos_served_by_either(city, personas, private_media, nodes,
                                                                         settings):
    a, b = nodes
    # The suite hashes with MD5 for speed; the gunicorn nodes only know the real hashers.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    personas.supervisor.set_password(PASSWORD)
    personas.supervisor.save(update_fields=["password"])
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = browser.open(f"{a}/accounts/login/", timeout=15).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": personas.supervisor.username,
                                   "password": PASSWORD}).encode()
    response = browser.open(urllib.request.Request(f"{b}/accounts/login/", data=form), timeout=15)  # other node
    assert response.url.rstrip("/") != f"{b}/accounts/login", "the login on node b failed"
    assert browser.open(f"{a}/units/tree/", timeout=15).status == 200  # the session from b, on a
    assert "/accounts/login/" not in browser.open(f"{a}/units/tree/", timeout=15).url

    w = world(city, personas)
    f = finding(w, personas)
    inspector = Token.objects.create(user=personas.inspector).key
    boundary = "civportalboundary"
    upload = jpeg("node-a.jpg", color=(10, 20, 200))
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"node-a.jpg\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + upload.read() + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"{a}/api/v1/findings/{f.pk}/photos/", data=body, method="POST", headers={
        "Authorization": f"Token {inspector}", "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert urllib.request.urlopen(request, timeout=30).status == 201
    photo = f.photos.order_by("-pk").first()
    if os.environ.get("AWS_STORAGE_BUCKET_NAME"):  # the S3 job: the nodes share the bucket, not a disk
        assert type(photo.image.storage).__name__ == "S3Storage"
    with photo.image.open("rb") as handle:
        stored = handle.read()
    for node in (a, b):
        request = urllib.request.Request(f"{node}/photos/finding/{photo.pk}/full/",
                                         headers={"Authorization": f"Token {inspector}"})
        assert urllib.request.urlopen(request, timeout=15).read() == stored
    outsider = Token.objects.create(user=personas.handler_b).key
    request = urllib.request.Request(f"{b}/photos/finding/{photo.pk}/full/", headers={"Authorization": f"Token {outsider}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=15)
    assert refused.value.code == 404
