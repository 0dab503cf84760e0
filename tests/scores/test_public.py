"""Issue 17, acceptance 4: the public announcement (公示) shows only announced,
published results; 404 for drafts and for everything when the setting is
off; nothing loaded from other hosts; the feed is Atom."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from scores import services
from scores.models import ScoreMonth

from . import example
from .helpers import OCT

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"
URL = "/public/scores/{}/2026-10/"


@pytest.fixture
def ex(city, personas, settings):
    settings.PUBLIC_ANNOUNCEMENTS = True
    ex = example.build(city, personas)
    services.scores_recompute(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    return ex


def _publish(ex, personas):
    services.scores_publish(actor=personas.supervisor, campaign=ex.campaign, month=OCT)


def test_drafts_and_published_but_unannounced_months_are_404(client, ex, personas):
    assert client.get(URL.format(ex.campaign.pk)).status_code == 404
    with pytest.raises(Exception):
        services.score_month_announce(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    _publish(ex, personas)
    assert client.get(URL.format(ex.campaign.pk)).status_code == 404
    assert client.get(URL.format(ex.campaign.pk)[:-1] + ".json").status_code == 404
    assert "2026-10" not in client.get("/public/").content.decode()


def test_an_announced_month_is_public_cacheable_and_self_contained(client, ex, personas):
    _publish(ex, personas)
    services.score_month_announce(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    r = client.get(URL.format(ex.campaign.pk))
    assert r.status_code == 200
    assert "public" in r["Cache-Control"] and r["Last-Modified"]
    body = r.content.decode()
    assert "湖滨街道" in body and "100.00" in body and "64.50" in body  # red A2, black B2
    # Nothing from other hosts: every src/href is local.
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', body)
    # No personal data: no user names of the office or inspectors.
    for user in (personas.supervisor, personas.inspector):
        assert user.username not in body
    data = client.get(URL.format(ex.campaign.pk)[:-1] + ".json").json()
    assert data["month"] == "2026-10" and data["announced_at"]
    assert {u["unit"] for u in data["units"] if u["list_flag"] == "black"} == {"江北街道"}
    assert "2026-10" in client.get("/public/").content.decode()


def test_the_feed_is_atom(client, ex, personas):
    _publish(ex, personas)
    services.score_month_announce(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    r = client.get("/public/feed.atom")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(r.content)
    assert root.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{tag}") is not None and root.find(f"{ATOM}{tag}").text
    (entry,) = root.findall(f"{ATOM}entry")
    for tag in ("id", "title", "updated"):
        assert entry.find(f"{ATOM}{tag}").text
    link = entry.find(f"{ATOM}link").get("href")
    assert link.endswith(URL.format(ex.campaign.pk))


def test_everything_is_404_when_the_setting_is_off(client, ex, personas, settings):
    _publish(ex, personas)
    services.score_month_announce(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    settings.PUBLIC_ANNOUNCEMENTS = False
    for url in ("/public/", "/public/feed.atom", URL.format(ex.campaign.pk), URL.format(ex.campaign.pk)[:-1] + ".json"):
        assert client.get(url).status_code == 404, url


def test_only_the_city_office_announces_and_withdrawal_hides_it(client, ex, personas):
    _publish(ex, personas)
    with pytest.raises(Exception):
        services.score_month_announce(actor=personas.head_a, campaign=ex.campaign, month=OCT)
    services.score_month_announce(actor=personas.supervisor, campaign=ex.campaign, month=OCT)
    assert client.get(URL.format(ex.campaign.pk)).status_code == 200
    services.score_month_announce(actor=personas.supervisor, campaign=ex.campaign, month=OCT, announce=False)
    assert client.get(URL.format(ex.campaign.pk)).status_code == 404
    assert ScoreMonth.objects.get(campaign=ex.campaign).history.count() >= 3
