"""civportal.related: the relations of one object read by a statement compiled once, as select_related
would give them (the finding and task pages read theirs this way)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from civportal.related import RelatedReader
from inspections import services
from inspections.models import Finding, FindingCategory, RectificationTask

from tests.inspections.helpers import finding, world

pytestmark = pytest.mark.django_db

RELATIONS = {
    "category": ("name", "engineering", "group_id"), "category__group": ("name",), "unit": ("name", "path"),
    "department": ("name",), "point": ("name",), "visit": ("inspection_id",),
}


def shown(f: Finding) -> dict:
    """What the pages read of the finding's relations."""
    group = f.category.group
    return {
        "category": (f.category.pk, f.category.name, f.category.engineering, f.category.group_id),
        "group": group and (group.pk, group.name), "unit": (f.unit.pk, f.unit.name, f.unit.path),
        "department": f.department and (f.department.pk, f.department.name),
        "point": f.point and (f.point.pk, f.point.name), "visit": f.visit and (f.visit.pk, f.visit.inspection_id),
    }


@pytest.fixture
def findings(city, personas):
    w = world(city, personas)
    engineering = FindingCategory.objects.create(code="GC-01", name="道路破损", engineering=True)  # no group
    full = finding(w, personas, description="有巡查、点位和主管部门")
    assert full.department_id and full.point_id and full.visit_id and full.category.group_id
    bare, _ = services.finding_create(actor=personas.supervisor, source=Finding.Source.HOTLINE, category=engineering,
                                      description="市民来电：路面坑洼", unit=city.street_b1, campaign=w.campaign,
                                      photos_in=[])
    assert bare.point_id is None and bare.department_id is None and bare.visit_id is None
    return [full, bare]


def test_the_reader_gives_what_select_related_gives(findings):
    reader = RelatedReader(Finding, RELATIONS)
    for f in findings:
        expected = shown(Finding.objects.select_related(*RELATIONS).get(pk=f.pk))
        with CaptureQueriesContext(connection) as ctx:
            got = shown(reader.get(f.pk))
        assert got == expected
        assert len(ctx) == 1, [q["sql"] for q in ctx.captured_queries]  # one statement, reading nothing more after
        assert "JOIN" not in ctx.captured_queries[0]["sql"].split("WHERE")[-1]
        assert isinstance(got["category"][2], bool)  # converted as the ORM converts (SQLite stores 0/1)


def test_the_statement_is_compiled_once_and_takes_each_key(findings):
    reader = RelatedReader(Finding, RELATIONS)
    first, second = findings
    reader.get(first.pk)
    compiled = reader.reader._compiled[("default", 1)]
    again = reader.get(second.pk)
    assert reader.reader._compiled[("default", 1)] is compiled
    assert again.category.name == "道路破损" and again.unit.name == second.unit.name and again.point is None


def test_other_fields_of_a_related_object_are_read_on_access(findings):
    """Like only(): what the reader did not name is deferred, not wrong."""
    f = RelatedReader(Finding, {"unit": ("name",)}).get(findings[0].pk)
    with CaptureQueriesContext(connection) as ctx:
        assert f.unit.code == Finding.objects.select_related("unit").get(pk=f.pk).unit.code
    assert len(ctx) == 2


def test_nested_relations_through_a_loaded_parent(findings, personas):
    task = services.task_dispatch(actor=personas.supervisor, finding=findings[0])
    reader = RelatedReader(RectificationTask, {"unit": ("name", "path"), "finding": ("description", "category_id",
                                                                                    "point_id"),
                                               "finding__category": ("name",), "finding__point": ("name",)})
    got = reader.get(task.pk)
    expected = RectificationTask.objects.select_related("unit", "finding__category", "finding__point").get(pk=task.pk)
    with CaptureQueriesContext(connection) as ctx:
        assert (got.unit.name, got.unit.path, got.finding.description, got.finding.category.name,
                got.finding.point.name) == (expected.unit.name, expected.unit.path, expected.finding.description,
                                            expected.finding.category.name, expected.finding.point.name)
    assert len(ctx) == 0


def test_keyed_rows_are_what_a_prefetch_gives_in_its_order(findings, personas):
    from civportal.related import KeyedRows, assign
    from inspections.models import TaskEvent
    from inspections.views import USER_NAME_FIELDS

    tasks = [services.task_dispatch(actor=personas.supervisor, finding=f) for f in findings]
    TaskEvent.objects.bulk_create([TaskEvent(task=tasks[0], actor=None, action="note", note=f"第{n}条",
                                             to_status=tasks[0].status) for n in range(3)])
    reader = KeyedRows(TaskEvent, "task", ("action", "note", "data", "created_at"),
                       relations={"actor": USER_NAME_FIELDS})
    ids = [t.pk for t in tasks]
    expected = {t.pk: [(e.pk, e.action, e.note, e.data, e.created_at, str(e.actor) if e.actor else None)
                       for e in t.events.all()]
                for t in RectificationTask.objects.filter(pk__in=ids).prefetch_related("events__actor")}
    for keys in (ids, ids[:1], ids[::-1], [*ids, ids[0]]):  # sizes 2 and 1, any order, repeated keys
        parents = list(RectificationTask.objects.filter(pk__in=keys))
        with CaptureQueriesContext(connection) as ctx:
            assign(parents, "events", reader.fetch(keys), "task_id")
            got = {t.pk: [(e.pk, e.action, e.note, e.data, e.created_at, str(e.actor) if e.actor else None)
                          for e in t.events.all()] for t in parents}
        assert len(ctx) == 1
        assert got == {pk: expected[pk] for pk in keys}
    assert sum(len(v) for v in expected.values()) >= 5 and any(e[5] for v in expected.values() for e in v)
    assert set(reader._compiled) == {("default", 2), ("default", 1)}  # one statement per number of keys
    with CaptureQueriesContext(connection) as ctx:
        assert reader.fetch([]) == []
    assert len(ctx) == 0


def test_keyed_rows_pad_to_a_power_of_two(findings, personas):
    from civportal.related import KeyedRows
    from inspections.models import FindingPhoto

    reader = KeyedRows(FindingPhoto, "finding", ("width", "height"))
    extra = list(findings)
    photos = {p.pk: (p.finding_id, p.width, p.height) for p in FindingPhoto.objects.all()}
    got = reader.fetch([f.pk for f in extra] + [10**9, 10**9 + 1])  # 4 keys, two without rows
    assert {p.pk: (p.finding_id, p.width, p.height) for p in got} == photos and photos
    assert [p.pk for p in got] == sorted(photos, key=lambda pk: (photos[pk][0], pk))  # the model's ordering
    got = reader.fetch([f.pk for f in extra] + [10**9])  # 3 keys: the 4-key statement, padded
    assert {p.pk for p in got} == set(photos)
    assert set(reader._compiled) == {("default", 4)}


def test_the_finding_pages_history_is_the_orms_latest_twenty(findings, personas):
    from inspections.views import FINDING_HISTORY

    f = findings[0]
    for n in range(22):  # more than the page shows, some with the person who made the change
        f.description = f"第{n}次修改"
        f._history_user = personas.supervisor if n % 2 else None
        f.save(update_fields=["description"])
    expected = [(h.history_id, h.history_date, h.history_type, h.status, str(h.history_user) if h.history_user else None)
                for h in f.history.select_related("history_user").order_by("-history_date")[:20]]
    with CaptureQueriesContext(connection) as ctx:
        got = [(h.history_id, h.history_date, h.get_history_type_display() and h.history_type, h.status,
                str(h.history_user) if h.history_user else None) for h in FINDING_HISTORY.fetch([f.pk])]
    assert got == expected and len(got) == 20
    assert any(row[4] for row in got) and any(row[4] is None for row in got)
    assert len(ctx) == 1
    with pytest.raises(AssertionError):
        FINDING_HISTORY.fetch([f.pk, findings[1].pk])  # a limit is one key's


def test_get_reads_the_row_and_its_relations_in_one_statement(findings):
    """``get`` gives the row itself (its named fields loaded) with its relations, in one query; no
    row, or a number beyond the key's range, gives None (the latter without a query)."""
    fields = tuple(f.attname for f in Finding._meta.concrete_fields)
    reader = RelatedReader(Finding, RELATIONS, fields=fields)
    for f in findings:
        expected, plain = shown(Finding.objects.select_related(*RELATIONS).get(pk=f.pk)), Finding.objects.get(pk=f.pk)
        with CaptureQueriesContext(connection) as ctx:
            got = reader.get(f.pk)
            assert shown(got) == expected
            assert {n: getattr(got, n) for n in fields} == {n: getattr(plain, n) for n in fields}
        assert len(ctx) == 1
    assert reader.get(10**12) is None
    with CaptureQueriesContext(connection) as ctx:
        assert reader.get(0) is None and reader.get(2**63) is None
    assert len(ctx) == 0
