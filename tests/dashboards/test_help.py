"""Issue 20, acceptance 8: a help page per role (what to do, in order, with the
screenshots the browser journeys take), in Chinese and English, linked from
the header of every page."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from campaigns.models import Membership
from dashboards.help import BY_SLUG, ROLES, VOLUNTEER

pytestmark = pytest.mark.django_db
STATIC = Path(settings.BASE_DIR) / "static"


def test_every_role_has_a_help_page_with_ordered_steps_and_existing_screenshots(client):
    assert set(BY_SLUG) == {*Membership.Role.values, VOLUNTEER}
    for page in ROLES:
        response = client.get(reverse("dashboards:help_role", args=[page.slug]))
        assert response.status_code == 200, page.slug
        html = response.content.decode()
        assert '<ol class="help-steps">' in html and html.count('<li class="card">') == len(page.steps) >= 3
        for step in page.steps:
            if step.screenshot:
                assert (STATIC / "help" / step.screenshot).is_file(), step.screenshot
                assert f'src="/static/help/{step.screenshot}"' in html
    assert sum(1 for p in ROLES for s in p.steps if s.screenshot) >= len(ROLES)
    assert client.get("/help/nobody/").status_code == 404


def test_the_help_index_lists_every_role_with_the_users_own_first(client, personas, login):
    html = client.get(reverse("dashboards:help")).content.decode()
    assert all(f'href="/help/{p.slug}/"' in html for p in ROLES)
    html = login(personas.leader).get(reverse("dashboards:help")).content.decode()
    assert html.index('data-role="leader"') < html.index('data-role="handler"')


@pytest.mark.parametrize("persona", ["supervisor", "inspector", "leader", "head_a", "handler_a", "outsider"])
def test_the_header_links_the_help_on_every_page(persona, personas, login):
    client = login(getattr(personas, persona))
    response = client.get(reverse("home"), follow=True)
    header = response.content.decode().split("<main", 1)[0]
    assert f'href="{reverse("dashboards:help")}"' in header and "帮助" in header


def test_help_is_translated(client):
    zh = client.get("/help/inspector/").content.decode()
    assert "测评员" in zh and "现场登记问题" in zh
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    en = client.get("/help/inspector/").content.decode()
    assert "Record a finding on the spot" in en and "Help" in en
