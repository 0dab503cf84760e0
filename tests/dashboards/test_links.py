"""Every figure links to the list behind it, and that list shows the same number."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from .conftest import october

pytestmark = pytest.mark.django_db

CARD = re.compile(r'<a class="dash-card[^"]*" href="([^"]+)" data-figure="([^"]+)"')
TABLE_LINK = re.compile(r'<td class="num"><a href="([^"]+)">(\d+)</a></td>')


def list_count(client, url: str) -> int:
    parts = urlsplit(html.unescape(url))
    response = client.get(parts.path + "?" + parts.query)
    assert response.status_code == 200, url
    form = response.context["filter"].form
    assert form.is_valid(), (url, form.errors)  # every parameter the dashboard sends is a known, valid filter
    page = response.context["page"]
    return getattr(page, "paginator", page).count  # (task pages: urgency keyset pages count themselves)


@pytest.mark.parametrize("who,name,unit", [("supervisor", "dashboards:supervisor", None),
                                           ("supervisor", "dashboards:supervisor", "district_a"),
                                           ("head_a", "dashboards:unit", None)])
def test_cards_link_to_lists_with_the_same_numbers(login, personas, city, facts, who, name, unit):
    client = login(getattr(personas, who))
    params = october(facts.camp, **({"unit": getattr(city, unit).code} if unit else {}))
    response = client.get(reverse(name), params)
    fig = response.context["fig"]
    cards = {figure: url for url, figure in CARD.findall(response.content.decode())}
    assert list_count(client, cards["open-findings"]) == fig.findings["open"]
    assert list_count(client, cards["overdue-tasks"]) == fig.lights["red"]
    assert list_count(client, cards["on-time-rate"]) == fig.tasks["on_time"]
    assert list_count(client, cards["rework-rate"]) == fig.tasks["reworked"]
    assert list_count(client, cards["days-to-close"]) == fig.tasks["closed"]
    assert list_count(client, cards["findings-opened"]) == fig.findings["opened"]
    assert fig.findings["open"] > 0 and fig.tasks["closed"] > 0
    assert urlsplit(html.unescape(cards["volunteers-active"])).path == reverse("volunteers:statistics")
    ranking = client.get(html.unescape(cards["average-index"]))
    assert ranking.status_code == 200 and ranking.context["current"].month == fig.score_month
    # The category, point type and monthly tables: every number is a link to its list.
    links = TABLE_LINK.findall(response.content.decode())
    assert len(links) >= len(fig.by_category) + len(fig.by_point_type) + 24
    for url, number in links:
        assert list_count(client, url) == int(number), html.unescape(url)


def test_light_links(login, personas, city, facts):
    client = login(personas.supervisor)
    response = client.get(reverse("dashboards:supervisor"), october(facts.camp, unit=city.district_a.code))
    links, fig = response.context["links"], response.context["fig"]
    assert list_count(client, links.tasks_yellow) == fig.lights["yellow"] == 1
    assert list_count(client, links.tasks_green) == fig.lights["green"] == 1
    assert list_count(client, links.untriaged) == fig.findings["untriaged"] == 1


def test_new_list_filters_through_the_api(api, personas, city, facts):
    client = api(personas.supervisor)
    rows = client.get("/api/v1/tasks/", {"on_time": "false", "closed_from": "2026-10-01", "closed_to": "2026-10-31"})
    assert rows.status_code == 200
    assert {r["id"] for r in rows.json()["results"]} == {facts.closed[1].pk, facts.t5.pk}
    rows = client.get("/api/v1/tasks/", {"reworked": "false", "status": "closed"}).json()["results"]
    assert {r["id"] for r in rows} == {facts.closed[0].pk, facts.t4.pk, facts.t5.pk}
    rows = client.get("/api/v1/findings/", {"point_type": "null", "date_from": "2026-10-01",
                                             "date_to": "2026-10-31"}).json()["results"]
    assert {r["id"] for r in rows} == {facts.f3.pk, facts.f4.pk, facts.f5.pk}
    rows = client.get("/api/v1/findings/", {"point_type": facts.market.pk}).json()["results"]
    assert {r["id"] for r in rows} == {facts.f1.pk}
    rows = client.get("/api/v1/findings/", {"closed_from": "2026-10-01", "closed_to": "2026-10-31"}).json()["results"]
    assert len(rows) == 5  # f3, the three of t1..t3 and g5
