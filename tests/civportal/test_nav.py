"""The grouped main navigation shows each persona only the links they may open,
marks the current section, and works without JavaScript (<details> menus)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.factories import UserFactory
from tests.volunteers.conftest import make_volunteer

pytestmark = pytest.mark.django_db

LOOP_ALL = ["/workbench/", "/tasks/", "/findings/new/", "/findings/", "/findings/triage/", "/inspections/",
            "/rounds/draws/", "/rounds/schedules/", "/rounds/mine/", "/rechecks/", "/recurrence/", "/calendar/"]
PLANNING = ["/campaigns/", "/editions/", "/points/", "/units/tree/"]
EXPECTED = {
    "supervisor": {
        "loop": LOOP_ALL,
        "planning": PLANNING,
        "index": ["/scores/", "/scores/bulletin/", "/scores/lost-points/", "/scores/appeals/", "/scores/accountability/",
                  "/scores/exposures/", "/scores/entries/", "/materials/calls/", "/materials/owed/",
                  "/materials/archives/", "/surveys/", "/surveys/waves/"],
        "volunteer": ["/volunteers/", "/volunteer-teams/", "/activities/", "/volunteers/statistics/"],
        "notices": ["/notices/", "/notices/new/"],
        "system": ["/notifications/webhooks/", "/api-clients/", "/accounts/users/", "/api/v1/docs/"],
    },
    "handler_a": {
        "loop": ["/workbench/", "/tasks/", "/findings/", "/inspections/", "/rounds/schedules/", "/rechecks/", "/recurrence/"],
        "planning": PLANNING,
        "notices": ["/notices/"],
        "index": ["/scores/", "/scores/bulletin/", "/scores/lost-points/", "/scores/appeals/", "/materials/calls/", "/materials/owed/", "/surveys/waves/"],
        "volunteer": ["/volunteers/", "/volunteer-teams/", "/activities/", "/volunteers/statistics/"],
        "system": ["/api/v1/docs/"],
    },
    "inspector": {
        "loop": ["/workbench/", "/tasks/", "/findings/new/", "/findings/", "/inspections/", "/rounds/schedules/",
                 "/rounds/mine/", "/rechecks/", "/recurrence/"],
        "planning": PLANNING,
        "notices": ["/notices/"],
        "index": ["/scores/", "/scores/bulletin/", "/scores/lost-points/", "/scores/appeals/", "/materials/calls/", "/materials/owed/", "/surveys/waves/"],
        "volunteer": ["/volunteers/", "/volunteer-teams/", "/activities/", "/volunteers/statistics/"],
        "system": ["/api/v1/docs/"],
    },
    "volunteer": {
        "volunteer": ["/my-reports/new/", "/my-reports/", "/activities/", "/volunteers/me/"],
        "system": ["/api/v1/docs/"],
    },
}
EVERY_LINK = {url for groups in EXPECTED.values() for links in groups.values() for url in links}


@pytest.fixture
def people(personas, city):
    volunteer = make_volunteer(city.community_a1, user=UserFactory(username="v_nav"))
    return {"supervisor": personas.supervisor, "handler_a": personas.handler_a, "inspector": personas.inspector,
            "volunteer": volunteer.user}


def nav_html(page: str) -> str:
    return page[page.index('<nav class="mainnav"'):page.index("</nav>")]


def groups_in(nav: str) -> dict:
    found = {}
    for key, body in re.findall(r'data-group="(\w+)">(.*?)</details>', nav, re.S):
        found[key] = re.findall(r'href="([^"]+)"', body)
    return found


@pytest.mark.parametrize("persona", EXPECTED)
def test_each_group_shows_only_permitted_links(people, login, persona):
    client = login(people[persona])
    page = client.get(reverse("home"), follow=True).content.decode()  # supervisors land on the dashboard
    nav = nav_html(page)
    assert groups_in(nav) == EXPECTED[persona]
    shown = set(re.findall(r'href="([^"]+)"', nav))
    assert ("/dashboard/" in shown) == (persona == "supervisor")
    assert shown - {"/", "/dashboard/"} <= EVERY_LINK
    # No link shown is refused (the bulletin answers 404 while no month is computed: that is data, not rights).
    for url in shown:
        assert client.get(url).status_code in (200, 302) or url == "/scores/bulletin/", url


def test_every_hidden_link_is_really_refused(people, login):
    client = login(people["volunteer"])
    for url in ["/workbench/", "/findings/", "/findings/new/", "/scores/", "/campaigns/", "/volunteers/statistics/"]:
        assert client.get(url).status_code in (403, 404), url


def test_current_section_and_page_are_marked(people, login):
    client = login(people["handler_a"])
    nav = nav_html(client.get("/workbench/").content.decode())
    assert re.search(r'data-group="loop">\s*<summary class="navtop current" aria-current="true">', nav)
    assert '<a href="/workbench/" aria-current="page">' in nav
    assert nav.count('aria-current="true"') == 1 and nav.count('aria-current="page"') == 1
    home = nav_html(client.get("/").content.decode())
    assert 'href="/" aria-current="page"' in home and 'aria-current="true"' not in home
    scores = nav_html(client.get("/scores/").content.decode())
    assert re.search(r'data-group="index">\s*<summary class="navtop current"', scores)


def test_volunteer_pages_belong_to_the_volunteer_section(people, login):
    nav = nav_html(login(people["volunteer"]).get("/my-reports/").content.decode())
    assert re.search(r'data-group="volunteer">\s*<summary class="navtop current"', nav)
    assert '<a href="/my-reports/" aria-current="page">' in nav


def test_menus_need_no_script_and_the_supervisor_has_the_dashboard_link(people, login):
    page = login(people["supervisor"]).get(reverse("home"), follow=True).content.decode()
    assert '<details class="navwrap">' in page and '<summary class="menu-btn">' in page
    assert page.count('<details class="navgroup"') == 6
    assert "<script>" not in page and " onclick=" not in page
    assert '<script src="/static/js/nav.js" defer></script>' in page
    assert '<a class="navtop current" href="/dashboard/" aria-current="page">' in page


def test_anonymous_pages_have_no_menu(client, db):
    page = client.get(reverse("login")).content.decode()
    assert "mainnav" not in page and "nav.js" not in page


# The menus are built once per process for each language, script prefix, URL conf and set of allowed links
# (civportal.nav): what one user, language or prefix saw must never come back to another.

OLD_MARKUP = """{% for group in nav_groups %}
        <li class="navgroup-item">
          <details class="navgroup" data-group="{{ group.key }}">
            <summary class="navtop{% if group.current %} current{% endif %}"{% if group.current %} aria-current="true"{% endif %}>{{ group.label }}</summary>
            <ul class="navmenu">
              {% for link in group.links %}<li><a href="{{ link.url }}"{% if link.current %} aria-current="page"{% endif %}>{{ link.label }}</a></li>{% endfor %}
            </ul>
          </details>
        </li>
        {% endfor %}"""


@pytest.mark.parametrize("persona", EXPECTED)
@pytest.mark.parametrize("path", ["/workbench/", "/scores/", "/my-reports/", "/help/"])
def test_the_cached_menu_is_the_template_markup_it_replaced(people, persona, path):
    from django.template import engines
    from django.test import RequestFactory
    from django.urls import resolve

    from civportal import nav

    request = RequestFactory().get(path)
    request.user, request.resolver_match = people[persona], resolve(path)
    old = engines["django"].from_string(OLD_MARKUP).render({"nav_groups": nav.build(request)[1]})
    for _ in range(2):  # built, then from the cache
        assert nav.menu_html(request) == old


def test_each_user_gets_their_own_menu_in_turn(people, login):
    for persona in ["supervisor", "volunteer", "handler_a", "supervisor", "volunteer"]:
        nav = nav_html(login(people[persona]).get("/help/").content.decode())
        assert groups_in(nav) == EXPECTED[persona], persona


def test_a_new_role_shows_its_links_on_the_next_page(people, login, city):
    from campaigns.models import Membership

    client = login(people["handler_a"])
    assert "/findings/triage/" not in nav_html(client.get("/help/").content.decode())
    Membership.objects.create(user=people["handler_a"], unit=city.district_a, role=Membership.Role.SUPERVISOR)
    assert "/findings/triage/" in nav_html(client.get("/help/").content.decode())


def test_menus_follow_the_language_and_the_script_prefix(people, login):
    client = login(people["handler_a"])

    def page_in(language):
        client.post(reverse("set_language"), {"language": language, "next": "/help/"})
        return nav_html(client.get("/help/").content.decode())

    english, chinese, again = page_in("en"), page_in("zh-hans"), page_in("en")
    assert "Rectification workbench" in english and "Rectification workbench" not in chinese
    assert again == english
    from django.test.utils import override_script_prefix

    with override_script_prefix("/civ/"):  # (the test client does not set it from SCRIPT_NAME)
        prefixed = nav_html(client.get("/help/").content.decode())
    assert groups_in(prefixed)["loop"][0] == "/civ/workbench/"
    assert groups_in(nav_html(client.get("/help/").content.decode()))["loop"][0] == "/workbench/"
