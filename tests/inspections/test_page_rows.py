"""The finding and task list pages draw their rows from cells computed in
Python (inspections/page_rows.py): the markup is byte for byte what the row
templates they replaced drew from the model instances, on rows reaching every
branch (lights, finished tasks, pending extensions, supervision, repeats, no
point, long descriptions with markup characters), in both languages and in
another time zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.template import engines
from django.utils import timezone, translation

from inspections import page_rows
from inspections.models import Finding, RectificationTask

from .helpers import world
from .test_urgency_pages import _random_tasks

pytestmark = pytest.mark.django_db

# The row loops as they were, drawn from the model instances of the page.
OLD_FINDING_ROWS = """{% load i18n %}{% for f in page %}
    <tr>
      <td class="c-id"><a href="{% url 'inspections:finding_detail' f.pk %}">#{{ f.pk }}</a></td>
      <td>{{ f.observed_at|date:"Y-m-d H:i" }}</td>
      <td class="c-title">{{ f.category.name }} · {{ f.get_severity_display }}{% if f.is_repeat %} <span class="badge overdue">{% translate "repeat" %}</span>{% endif %}<br><span class="muted">{{ f.description|truncatechars:60 }}</span></td>
      <td>{{ f.point.name|default:"—" }}</td>
      <td class="c-unit">{{ f.unit.name }}</td>
      <td>{{ f.get_source_display }}</td>
      <td class="c-status"><span class="badge status-{{ f.status }}">{{ f.get_status_display }}</span></td>
      <td class="c-light">{% for task in f.task_list|slice:":1" %}<a href="{% url 'inspections:task_detail' task.pk %}">#{{ task.pk }}</a> {% include "inspections/includes/light.html" %}{% empty %}—{% endfor %}</td>
    </tr>
  {% endfor %}"""

OLD_TASK_ROWS = """{% load i18n %}{% for task in page %}
    <tr>
      <td class="c-id"><a href="{% url 'inspections:task_detail' task.pk %}">#{{ task.pk }}</a></td>
      <td class="c-light">{% include "inspections/includes/light.html" %}</td>
      <td class="c-title">{{ task.finding.category.name }} · {{ task.finding.get_severity_display }}<br><span class="muted">{{ task.finding.description|truncatechars:60 }}</span>{% if task.finding.point %}<br><span class="muted">{{ task.finding.point.name }}</span>{% endif %}</td>
      <td class="c-unit">{{ task.unit.name }}</td>
      <td class="c-status"><span class="badge status-{{ task.status }}">{{ task.get_status_display }}</span>{% if task.has_pending_extension %} <span class="badge">{% translate "extension requested" %}</span>{% endif %}{% if task.supervision != "none" %} <span class="badge supervision-{{ task.supervision }} show-sm">{{ task.get_supervision_display }}</span>{% endif %}</td>
      <td class="c-due">{{ task.due_at|date:"Y-m-d H:i" }}</td>
      <td class="hide-sm">{% if task.supervision != "none" %}<span class="badge supervision-{{ task.supervision }}">{{ task.get_supervision_display }}</span>{% else %}—{% endif %}</td>
      <td class="num hide-sm">{{ task.rework_count }}</td>
    </tr>
  {% endfor %}"""


@pytest.fixture
def varied(city, personas):
    w = world(city, personas)
    now = timezone.now()
    tasks = _random_tasks(w, city, 90, seed=7, now=now, requester=personas.handler_a)
    S = RectificationTask.Supervision
    for i, task in enumerate(tasks):
        task.supervision = [S.NONE, S.NONE, S.SUPERVISED, S.LISTED][i % 4]
        task.rework_count = i % 3
        task.save(update_fields=["supervision", "rework_count"])
    findings = [t.finding for t in tasks]
    for i, f in enumerate(findings):
        f.is_repeat = i % 5 == 0
        f.point = w.point_a if i % 3 else None
        f.description = ("<b>井盖</b> & \"缺失\" 'x' " * (1 + i % 6))[: 20 + i]
        f.observed_at = now - dt.timedelta(days=i, minutes=7 * i)
        f.save(update_fields=["is_repeat", "point", "description", "observed_at"])
    Finding.objects.create(campaign=w.campaign, unit=city.grid_a1, category=w.category, severity="minor",
                           description="新", status=Finding.Status.NEW)  # no task: "—"
    return tasks


def page_instances(user, page, findings: bool) -> list:
    """The page's rows as the model instances the old row templates read, in the page's order:
    the findings with their tasks prefetched, the tasks with the light that placed them."""
    from inspections import selectors

    ids = [row["id"] for row in page]
    if findings:
        by_id = selectors.findings_for(user, photos=False, lean=True).in_bulk(ids)
    else:
        by_id = selectors.tasks_for(user, pending_rows=False, lean=True).in_bulk(ids)
    instances = [by_id[pk] for pk in ids]
    if not findings:
        for task, row in zip(instances, page):
            task.light = row["light"]  # the urgency slice's light (the order): what the page must show
            assert task.light == task.light_at()
    return instances


def old_markup(source: str, page) -> str:
    return engines["django"].from_string(source).render({"page": page})


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/Los_Angeles"])
@pytest.mark.parametrize("path", ["/findings/?per_page=200", "/tasks/?per_page=200", "/workbench/?per_page=200",
                                  "/tasks/?per_page=7&light=yellow", "/findings/?per_page=30&page=2"])
def test_rows_are_the_markup_of_the_old_row_templates(varied, personas, login, language, zone, path):
    client = login(personas.supervisor)
    with translation.override(language), timezone.override(zoneinfo.ZoneInfo(zone)):
        response = client.get(path, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        page = response.context["page"]
        assert len(page) > 0
        html = response.content.decode()
        findings = path.startswith("/findings/")
        instances = page_instances(personas.supervisor, page, findings)
        old = old_markup(OLD_FINDING_ROWS if findings else OLD_TASK_ROWS, instances)
    assert old.count("<tr>") == len(page)
    assert old in html
    assert html.count("<tr>") == len(page) + 1  # and no other row (the head's)


def test_the_rows_reach_every_branch(varied, personas, login):
    client = login(personas.supervisor)
    tasks = client.get("/tasks/?per_page=200").content.decode()
    for text in ("light-red", "light-yellow", "light-green", 'class="c-light">\n</td>', ' <span class="badge">',
                 "supervision-supervised", "supervision-listed", "<br><span class=\"muted\">", "&lt;b&gt;",
                 "&amp;", "&quot;", "&#x27;", "…"):
        assert text in tasks, text
    findings = client.get("/findings/?per_page=200").content.decode()
    for text in ('class="badge overdue"', "<td>—</td>", 'class="c-light">—</td>', "light-red", "&lt;b&gt;", "…"):
        assert text in findings, text


def test_urls_are_made_with_one_reverse_and_match_reverse():
    from django.urls import reverse

    make = page_rows.url_maker("inspections:task_detail")
    for pk in (1, 12, 987654321987, 2**62):
        assert make(pk) == reverse("inspections:task_detail", args=[pk])


@pytest.mark.parametrize("text", ["", "短", "井盖缺失" * 15, "井盖缺失" * 16, "e\u0301" * 59 + "x", "e\u0301" * 61,
                                  "a" * 60, "a" * 61, "<b>&\"'</b>" * 8, "Cafe\u0301 " * 12])
def test_the_rows_escape_and_truncation_are_djangos(text):
    """The rows' own escape and truncation (no lazy checks) give Django's text: NFC, combining
    characters not counted, the ellipsis only when cut."""
    from django.utils.html import escape as django_escape
    from django.utils.text import Truncator

    from inspections.page_rows import chars, escape

    assert chars(text, 60) == Truncator(text).chars(60)
    assert escape(chars(text, 60)) == django_escape(Truncator(text).chars(60))
