"""The top navigation, grouped by domain: each group lists only the links the
user may open, and the group of the current page is marked. Built from the
roles' permissions: no database query, except the volunteer record for
people without a unit role."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ObjectDoesNotExist
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


@dataclass
class Link:
    label: str
    url: str
    current: bool = False


@dataclass
class Group:
    key: str
    label: str
    links: list[Link] = field(default_factory=list)
    current: bool = False


# (group key, label, [(permission or predicate, label, url name)]); a predicate takes (user, is_volunteer),
# is_volunteer meaning an active volunteer with a login and no unit role.
GROUPS = [
    ("loop", _("Problems and rectification"), [
        ("inspections.view_rectificationtask", _("Rectification workbench"), "inspections:workbench"),
        ("inspections.view_rectificationtask", _("All tasks"), "inspections:task_list"),
        ("inspections.add_finding", _("Record a finding"), "inspections:finding_record"),
        ("inspections.view_finding", _("Findings"), "inspections:finding_list"),
        ("inspections.change_finding", _("Triage"), "inspections:triage_queue"),
        ("inspections.view_inspection", _("Inspections"), "inspections:inspection_list"),
        ("rounds.add_pointdraw", _("Point draws"), "rounds:draw_list"),
        ("rounds.view_inspectionschedule", _("Inspection schedules"), "rounds:schedule_list"),
        ("inspections.add_visit", _("My round"), "rounds:my_round"),
        ("inspections.view_recheck", _("Re-checks"), "inspections:recheck_list"),
        ("inspections.view_finding", _("Recurrence rates"), "inspections:recurrence"),
        ("inspections.view_calendaroverride", _("Working-day calendar"), "inspections:calendar"),
    ]),
    ("planning", _("Campaign planning"), [
        ("campaigns.view_campaign", _("Campaigns"), "campaigns:campaign_list"),
        ("campaigns.view_indicatorsystem", _("Indicator editions"), "campaigns:edition_list"),
        ("campaigns.view_point", _("Evaluation points"), "campaigns:point_list"),
        ("campaigns.view_unit", _("Units"), "campaigns:unit_tree"),
    ]),
    ("notices", _("Notices"), [
        ("notices.view_notice", _("Notices"), "notices:notice_list"),
        ("notices.add_notice", _("New notice"), "notices:notice_create"),
    ]),
    ("index", _("Civility index"), [
        ("scores.view_monthlyscore", _("Ranking"), "scores:ranking"),
        ("scores.view_monthlyscore", _("Bulletin"), "scores:bulletin"),
        ("scores.view_monthlyscore", _("Lost points by criterion"), "scores:lost_points"),
        ("scores.view_appeal", _("Appeals"), "scores:appeal_list"),
        ("scores.view_accountabilityrecord", _("Accountability records"), "scores:accountability_list"),
        ("scores.view_exposure", _("Exposure board"), "scores:exposure_list"),
        ("scores.add_surveyscore", _("Score entries"), "scores:entries"),
        ("materials.view_materialcall", _("Materials calls"), "materials:call_list"),
        ("materials.view_materialsubmission", _("What we still owe"), "materials:owed"),
        ("materials.add_archivejob", _("Materials archives"), "materials:archive_list"),
        ("surveys.add_survey", _("Surveys"), "surveys:survey_list"),
        ("surveys.view_surveywave", _("Survey waves"), "surveys:wave_list"),
    ]),
    ("volunteer", _("Volunteer service"), [
        ("volunteers.view_volunteer", _("Volunteer register"), "volunteers:volunteer_list"),
        ("volunteers.view_team", _("Teams"), "volunteers:team_list"),
        (lambda user, vol: vol, _("Report a problem"), "inspections:volunteer_report"),
        (lambda user, vol: vol, _("My reports"), "inspections:my_reports"),
        (lambda user, vol: vol or user.has_perm("volunteers.view_activity"), _("Volunteer activities"),
         "volunteers:activity_list"),
        ("volunteers.view_volunteer", _("Statistics"), "volunteers:statistics"),
        (lambda user, vol: vol, _("My volunteer profile"), "volunteers:me"),
    ]),
    ("system", _("System"), [
        ("notifications.view_webhooksubscription", _("Webhooks"), "notifications:webhook_list"),
        ("campaigns.view_apiclient", _("API keys"), "campaigns:api_client_list"),
        ("campaigns.view_user", _("Staff accounts"), "campaigns:account_list"),
        (lambda user, vol: user.is_staff, _("Admin"), "admin:index"),
        (lambda user, vol: True, _("API documentation"), "api-docs"),
    ]),
]

# Which group a page belongs to: (namespace, url name prefix) → group; the first match wins.
SECTIONS = [
    ("dashboards", "", "dashboard"),
    ("inspections", "my_report", "volunteer"),
    ("inspections", "volunteer_report", "volunteer"),
    ("inspections", "", "loop"),
    ("campaigns", "api_client", "system"),
    ("campaigns", "account", "system"),
    ("campaigns", "", "planning"),
    ("scores", "", "index"),
    ("materials", "", "index"),
    ("surveys", "", "index"),
    ("notices", "", "notices"),
    ("volunteers", "", "volunteer"),
    ("notifications", "webhook", "system"),
    ("admin", "", "system"),
]


def section_of(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    if match.url_name == "home":
        return "home"
    if match.url_name in ("api-docs", "api-schema"):
        return "system"
    namespace = match.namespaces[0] if match.namespaces else ""
    for ns, prefix, section in SECTIONS:
        if namespace == ns and (match.url_name or "").startswith(prefix):
            return section
    return ""


def is_active_volunteer(user) -> bool:
    try:
        return user.volunteer.status == "active"
    except ObjectDoesNotExist:
        return False


def allowed_links(request) -> tuple[bool, ...]:
    """For each link of GROUPS in order, whether the user may open it: a few permission tests
    (the user's permissions are cached on the user) and, for people without a unit role, the
    volunteer record."""
    user = request.user
    # The volunteer's own links are for volunteers without a unit role (staff reach theirs from the lists):
    # people with a role cost no query for the volunteer record.
    volunteer = not user.has_perm("campaigns.view_unit") and is_active_volunteer(user)
    perms: dict[str, bool] = {}
    allowed = []
    for _key, _label, links in GROUPS:
        for rule, _link_label, _url_name in links:
            if callable(rule):
                allowed.append(bool(rule(user, volunteer)))
            else:
                if rule not in perms:
                    perms[rule] = user.has_perm(rule)
                allowed.append(perms[rule])
    return tuple(allowed)


# The menus, built once per process for each (language, script prefix, URL conf, allowed links): the
# labels translated and the URLs reversed (≈ 40 reverses per page before), and their HTML once per
# current section and page. Nothing of a user is kept but which links they may open; bounded.
_MENUS: dict[tuple, list[tuple[str, str, list[tuple[str, str]]]]] = {}
_HTML: dict[tuple, SafeString] = {}
_LIMIT = 2000
PAGE, GROUP = ' aria-current="page"', ' aria-current="true"'
GROUP_HTML = ("\n        <li class=\"navgroup-item\">\n          <details class=\"navgroup\" data-group=\"{key}\">"
              "\n            <summary class=\"navtop{current}\"{aria}>{label}</summary>"
              "\n            <ul class=\"navmenu\">\n              {items}\n            </ul>\n          </details>"
              "\n        </li>\n        ")


def _menu(allowed: tuple[bool, ...]) -> tuple[tuple, list[tuple[str, str, list[tuple[str, str]]]]]:
    key = (get_language(), get_script_prefix(), get_urlconf(), allowed)
    menu = _MENUS.get(key)
    if menu is None:
        menu, flags = [], iter(allowed)
        for group_key, label, links in GROUPS:
            shown = [(str(link_label), reverse(url_name)) for _rule, link_label, url_name in links if next(flags)]
            if shown:
                menu.append((group_key, str(label), shown))
        if len(_MENUS) >= _LIMIT:
            _MENUS.clear()
        _MENUS[key] = menu
    return key, menu


def build(request) -> tuple[str, list[Group]]:
    """The groups of links the user may open, the current group and page marked."""
    _key, menu = _menu(allowed_links(request))
    section = section_of(request)
    groups = [Group(key=key, label=label, current=key == section,
                    links=[Link(label=link_label, url=url, current=url == request.path) for link_label, url in links])
              for key, label, links in menu]
    return section, groups


def menu_html(request) -> SafeString:
    """The groups' ``<li>`` items of the top navigation (base.html), as the template wrote them."""
    key, menu = _menu(allowed_links(request))
    section = section_of(request)
    path = request.path
    current_url = next((url for _k, _l, links in menu for _label, url in links if url == path), "")
    html_key = (key, section, current_url)
    html = _HTML.get(html_key)
    if html is None:
        parts = []
        for group_key, label, links in menu:
            current = group_key == section
            items = "".join(f'<li><a href="{escape(url)}"{PAGE if url == current_url else ""}>{escape(link_label)}</a></li>'
                            for link_label, url in links)
            parts.append(GROUP_HTML.format(key=escape(group_key), label=escape(label), items=items,
                                           current=" current" if current else "", aria=GROUP if current else ""))
        html = mark_safe("".join(parts))
        if len(_HTML) >= _LIMIT:
            _HTML.clear()
        _HTML[html_key] = html
    return html
