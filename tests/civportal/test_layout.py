"""Accessibility basics the server can prove: every field has a label, ids are
unique where several forms share field names, errors are announced."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from inspections import services
from tests.inspections.helpers import submitted, world

pytestmark = pytest.mark.django_db


def unlabelled(page: str) -> list[str]:
    main = page[page.index("<main"):page.index("</main>")]
    labelled = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', main))
    wrapped = set()
    for body in re.findall(r"<label[^>]*>(.*?)</label>", main, re.S):
        wrapped |= set(re.findall(r'\bid="([^"]+)"', body))
    missing = []
    for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", main):
        if 'type="hidden"' in tag:
            continue
        ident = re.search(r'\bid="([^"]+)"', tag)
        if not ident or (ident.group(1) not in labelled and ident.group(1) not in wrapped
                         and "aria-label=" not in tag):
            missing.append(tag[:80])
    return missing


def duplicate_ids(page: str) -> list[str]:
    return [i for i, n in Counter(re.findall(r'\bid="([^"]+)"', page)).items() if n > 1]


@pytest.fixture
def returned(city, personas):
    """A task returned for rework: handler A may accept it again, submit and ask for more time on one page."""
    w = world(city, personas)
    task = submitted(w, personas)
    return services.task_verify(actor=personas.supervisor, task=task, passed=False, note="未清理干净")


def test_task_actions_have_labels_and_unique_ids(returned, personas, login):
    page = login(personas.handler_a).get(f"/tasks/{returned.pk}/").content.decode()
    assert "签收任务" in page and "报结" in page and "申请延期" in page
    assert duplicate_ids(page) == []
    assert unlabelled(page) == []


def test_finding_and_report_forms_label_every_field(city, personas, login):
    world(city, personas)
    for who, url in [(personas.supervisor, "/findings/new/"), (personas.handler_a, "/workbench/")]:
        page = login(who).get(url).content.decode()
        assert unlabelled(page) == [], url
        assert duplicate_ids(page) == [], url


def test_radio_choices_are_a_fieldset_with_a_legend(returned, personas, login):
    client = login(personas.handler_a)
    client.post(f"/tasks/{returned.pk}/extension/", {"requested_due_at": "2099-01-01T10:00", "reason": "材料未到"})
    page = login(personas.supervisor).get(f"/tasks/{returned.pk}/").content.decode()
    assert re.search(r'<fieldset class="field choices">\s*<legend>', page)
    assert unlabelled(page) == [] and duplicate_ids(page) == []


def test_action_errors_are_announced(returned, personas, login):
    client = login(personas.handler_a)
    response = client.post(f"/tasks/{returned.pk}/extension/", {"requested_due_at": "", "reason": ""}, follow=True)
    assert re.search(r'<li class="msg msg-error" role="alert">', response.content.decode())
    ok = client.post(f"/tasks/{returned.pk}/accept/", {"expected_status": "returned"}, follow=True)
    assert re.search(r'<li class="msg msg-success" role="status">', ok.content.decode())


def test_form_errors_are_announced(city, personas, login):
    world(city, personas)
    page = login(personas.supervisor).post("/findings/new/", {"description": ""}).content.decode()
    assert 'class="error" role="alert"' in page
