import re

import pytest
import yaml
from django.core.management import call_command
from django.test import Client


def test_openapi_schema_builds_and_validates(tmp_path, db):
    out = tmp_path / "schema.yaml"
    # --validate checks the document against the OpenAPI 3 JSON schema; --fail-on-warn
    # turns any generator warning (an untyped field, an unknown filter) into a failure.
    call_command("spectacular", "--file", str(out), "--validate", "--fail-on-warn")
    schema = yaml.safe_load(out.read_text())
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for path in ("/api/v1/units/", "/api/v1/units/{id}/move/", "/api/v1/memberships/", "/api/v1/auth/token/"):
        assert path in paths


def test_schema_endpoint_needs_no_login_and_is_json(client, db):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert b'"openapi"' in response.content


@pytest.mark.parametrize("path", ["/api/v1/docs/"])
def test_api_docs_load_nothing_from_other_hosts(client, db, path):
    response = client.get(path)
    assert response.status_code == 200
    body = response.content.decode()
    urls = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)', body)
    assert urls, "the docs page should reference its assets"
    external = [u for u in urls if re.match(r"^(https?:)?//", u)]
    assert external == []
    # Every referenced asset is served by the portal itself.
    for url in urls:
        if url.startswith("/"):
            asset = Client().get(url)
            assert asset.status_code == 200, url
            content = b"".join(asset.streaming_content) if asset.streaming else asset.content
            assert b"//cdn." not in content[:200000] or url.endswith(".map")
