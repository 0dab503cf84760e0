"""The response cache of the API finding and task lists (civportal/listcache.py, issue 13).

Transactional tests: generations move after a real commit, as in production."""

from __future__ import annotations

import datetime as dt
import io
import os
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import services as unit_services
from campaigns.models import Membership
from campaigns.scope import cache_key
from civportal import listcache
from inspections import services
from inspections.list_cache import next_light_change
from inspections.models import Finding, FindingCategory, RectificationTask

from ..factories import make_member
from ..inspections.helpers import dispatched, finding, jpeg, world

Role = Membership.Role
pytestmark = pytest.mark.django_db(transaction=True)
FINDINGS = "/api/v1/findings/?status=new&status=dispatched"
TASKS = "/api/v1/tasks/"


@pytest.fixture(autouse=True)
def cache_on(settings, fresh_listcache):
    settings.LIST_CACHE_SECONDS = 60
    settings.LIST_CACHE_RETRY_SECONDS = 0
    yield


@pytest.fixture
def w(city, personas):
    return world(city, personas)


def get(client, url, **headers):
    response = client.get(url, **headers)
    assert response.status_code == 200, response.content[:300]
    return response[listcache.HEADER], response.json()


def ids(body) -> list[int]:
    return [row["id"] for row in body["results"]]


def primed(client, url=FINDINGS) -> dict:
    """Request twice: the second answer comes from the cache."""
    get(client, url)
    state, body = get(client, url)
    assert state == "hit"
    return body


def test_a_repeated_list_is_served_from_the_cache_without_the_list_queries(w, personas, api):
    for _ in range(3):
        finding(w, personas)
    dispatched(w, personas)
    client = api(personas.handler_a)
    get(client, TASKS + "?status=void")  # the first request reads the token and permissions: not counted
    for url in (FINDINGS, TASKS):
        with CaptureQueriesContext(connection) as computed:
            state, first = get(client, url)
        assert state == "miss"
        with CaptureQueriesContext(connection) as cached:
            state, second = get(client, url)
        assert state == "hit" and second == first and first["results"]
        # What is left is the authentication: the token with its user, and the memberships.
        assert len(cached) <= 2, [q["sql"][:80] for q in cached.captured_queries]
        assert len(computed) >= len(cached) + 2
        sql = " ".join(q["sql"] for q in cached.captured_queries)
        assert "inspections_finding" not in sql and "inspections_rectificationtask" not in sql


def test_query_order_does_not_matter_but_every_parameter_does(w, personas, api):
    finding(w, personas)
    client = api(personas.handler_a)
    primed(client, "/api/v1/findings/?status=new&source=inspection")
    assert get(client, "/api/v1/findings/?source=inspection&status=new")[0] == "hit"
    state, body = get(client, "/api/v1/findings/?source=hotline&status=new")
    assert state == "miss" and body["results"] == []


def test_two_scopes_never_share_a_page(w, personas, api):
    mine, theirs = finding(w, personas), finding(w, personas, visit=w.visit_b)
    a, b = api(personas.handler_a), api(personas.handler_b)
    assert ids(primed(a)) == [mine.pk]
    state, body = get(b, FINDINGS)
    assert state == "miss" and ids(body) == [theirs.pk]
    assert ids(get(b, FINDINGS)[1]) == [theirs.pk] and ids(get(a, FINDINGS)[1]) == [mine.pk]


def test_same_memberships_share_a_page_and_a_role_is_part_of_the_key(w, personas, api, city):
    finding(w, personas)
    colleague = make_member(city.district_a, Role.HANDLER, "colleague_a")
    primed(api(personas.handler_a))
    assert get(api(colleague), FINDINGS)[0] == "hit"
    assert cache_key(personas.head_a) != cache_key(personas.handler_a)  # same unit, another role


def test_a_membership_change_never_serves_the_old_scope(w, personas, api, city):
    in_a, in_b = finding(w, personas), finding(w, personas, visit=w.visit_b)
    mover = make_member(city.district_a, Role.HANDLER, "mover")
    client = api(mover)
    assert ids(primed(client)) == [in_a.pk]
    membership = Membership.objects.get(user=mover, active=True)
    unit_services.membership_create(actor=personas.supervisor, user=mover, unit=city.district_b, role=Role.HANDLER)
    state, body = get(client, FINDINGS)
    assert state == "miss" and sorted(ids(body)) == sorted([in_a.pk, in_b.pk])
    unit_services.membership_end(actor=personas.supervisor, membership=membership)
    state, body = get(client, FINDINGS)
    assert state == "miss" and ids(body) == [in_b.pk]
    unit_services.membership_end(actor=personas.supervisor,
                                 membership=Membership.objects.get(user=mover, active=True))
    assert client.get(FINDINGS).status_code == 403  # no role left: nothing, and nothing cached


def test_the_language_is_part_of_the_key(w, personas, api):
    finding(w, personas)
    client = api(personas.handler_a)
    zh = primed(client)
    state, en = get(client, FINDINGS, HTTP_ACCEPT_LANGUAGE="en")
    assert state == "miss"
    assert (zh["results"][0]["status_display"], en["results"][0]["status_display"]) == ("待分拨", "awaiting triage")
    assert get(client, FINDINGS, HTTP_ACCEPT_LANGUAGE="en") == ("hit", en)


def fresh_after(client, write, url=FINDINGS):
    """Prime the cache, write, and return the next answer (which must be computed)."""
    primed(client, url)
    write()
    state, body = get(client, url)
    assert state == "miss"
    return body


def test_service_writes_make_the_next_list_fresh(w, personas, api, city):
    client = api(personas.supervisor)
    f = finding(w, personas)
    body = fresh_after(client, lambda: finding(w, personas, description="新问题"))
    assert len(body["results"]) == 2
    body = fresh_after(client, lambda: services.task_dispatch(actor=personas.supervisor, finding=f))
    assert {r["status"] for r in body["results"]} == {"new", "dispatched"}
    task = f.tasks.get()
    body = fresh_after(client, lambda: services.task_accept(actor=personas.handler_a, task=task), TASKS)
    assert body["results"][0]["status"] == "in_progress"
    body = fresh_after(client, lambda: services.task_request_extension(
        actor=personas.handler_a, task=task, requested_due_at=task.due_at + dt.timedelta(days=3), reason="材料未到"),
        TASKS)
    assert body["results"][0]["pending_extension"] is not None
    body = fresh_after(client, lambda: services.finding_add_photos(actor=personas.supervisor, finding=f,
                                                                    photos_in=[jpeg("more.jpg")]))
    assert [len(r["photos"]) for r in body["results"] if r["id"] == f.pk] == [2]


def test_api_writes_make_the_next_list_fresh(w, personas, api):
    client = api(personas.supervisor)
    f = finding(w, personas)

    def post_finding():
        r = client.post("/api/v1/findings/", {"source": "hotline", "category": w.category.pk,
                                               "description": "热线来电", "unit": w.point_a.unit.pk}, format="json")
        assert r.status_code == 201, r.content

    assert len(fresh_after(client, post_finding)["results"]) == 2
    body = fresh_after(client, lambda: client.post(f"/api/v1/findings/{f.pk}/void/", {"reason": "重复录入"},
                                                   format="json"), "/api/v1/findings/")
    assert [r["status"] for r in body["results"] if r["id"] == f.pk] == ["void"]


def test_bulk_intake_makes_the_next_list_fresh(w, personas, api, api_key, key_api, city, settings):
    settings.API_RATE_PER_MINUTE = 0
    _client, key = api_key(personas.supervisor, city.city, role=Role.SUPERVISOR, name="12345")
    hotline, reader = key_api(key), api(personas.supervisor)
    items = [{"source": "hotline", "external_id": f"H-{n}", "category": w.category.code, "description": f"垃圾 {n}",
              "unit": city.street_a1.code} for n in range(3)]

    def intake():
        assert hotline.post("/api/v1/findings/bulk/", {"items": items}, format="json").json()["summary"]["created"] == 3

    assert len(fresh_after(reader, intake, "/api/v1/findings/?source=hotline")["results"]) == 3


def test_queryset_update_and_commands_make_the_next_list_fresh(w, personas, api):
    client = api(personas.supervisor)
    f = finding(w, personas)
    body = fresh_after(client, lambda: Finding.objects.filter(pk=f.pk).update(description="改过的描述"))
    assert body["results"][0]["description"] == "改过的描述"
    fresh_after(client, lambda: call_command("rebuild_scope_paths", verbosity=0))
    fresh_after(client, lambda: call_command("list_cache_bump", stdout=io.StringIO()))  # after psql, COPY, restore
    body = fresh_after(client, lambda: FindingCategory.objects.filter(pk=w.category.pk).update(name="新名称"))
    assert body["results"][0]["category_name"] == "新名称"


def test_a_unit_move_makes_the_next_list_fresh(w, personas, api, city):
    finding(w, personas)  # in community A1 (district A)
    client = api(personas.handler_a)
    assert len(primed(client)["results"]) == 1
    unit_services.unit_move(actor=personas.supervisor, unit=city.street_a1, new_parent=city.district_b)
    state, body = get(client, FINDINGS)
    assert state == "miss" and body["results"] == []
    assert len(get(api(personas.handler_b), FINDINGS)[1]["results"]) == 1


def test_a_rolled_back_write_keeps_the_cache(w, personas, api):
    f = finding(w, personas)
    client = api(personas.handler_a)
    body = primed(client)
    with pytest.raises(RuntimeError), transaction.atomic():
        Finding.objects.filter(pk=f.pk).update(description="不会提交")
        raise RuntimeError
    assert get(client, FINDINGS) == ("hit", body)


def test_a_write_under_manual_transaction_management_is_bumped_after_its_commit(w, personas, api):
    f = finding(w, personas)
    client = api(personas.handler_a)
    primed(client)
    transaction.set_autocommit(False)
    try:
        Finding.objects.filter(pk=f.pk).update(description="手动提交")
        transaction.commit()
    finally:
        transaction.set_autocommit(True)
    state, body = get(client, FINDINGS)
    assert state == "miss" and body["results"][0]["description"] == "手动提交"


def test_the_callers_inspections_filter_is_always_computed(w, personas, api):
    finding(w, personas)
    client = api(personas.supervisor)
    url = f"/api/v1/findings/?inspection={w.visit_a.inspection_id}"
    assert [get(client, url)[0] for _ in range(2)] == ["bypass", "bypass"]


@pytest.mark.parametrize("url", ["/api/v1/tasks/?overdue=true", "/api/v1/tasks/?light=red",
                                 "/api/v1/findings/?overdue=true"])
def test_a_selection_by_the_clock_is_kept_until_the_next_deadline(w, personas, api, url):
    task = dispatched(w, personas)
    soon = timezone.now() + dt.timedelta(seconds=1.5)
    RectificationTask.objects.filter(pk=task.pk).update(due_at=soon, warn_at=soon - dt.timedelta(hours=1))
    client = api(personas.supervisor)
    assert primed(client, url)["results"] == []  # not overdue yet: an answer kept until ``soon`` at most
    time.sleep(max(0.0, (soon - timezone.now()).total_seconds()) + 0.1)
    state, body = get(client, url)
    assert state == "miss" and ids(body) == [task.pk if "tasks" in url else task.finding_id]
    assert get(client, url) == ("hit", body)  # no deadline ahead any more: kept as any list


def test_a_light_selection_also_ends_when_a_light_turns_yellow(w, personas, api):
    task = dispatched(w, personas)
    soon = timezone.now() + dt.timedelta(seconds=1.5)
    RectificationTask.objects.filter(pk=task.pk).update(warn_at=soon, due_at=soon + dt.timedelta(hours=1))
    client = api(personas.supervisor)
    assert ids(primed(client, "/api/v1/tasks/?light=green")) == [task.pk]
    time.sleep(max(0.0, (soon - timezone.now()).total_seconds()) + 0.1)
    state, body = get(client, "/api/v1/tasks/?light=green")
    assert state == "miss" and body["results"] == []
    assert ids(get(client, "/api/v1/tasks/?light=yellow")[1]) == [task.pk]


def test_a_deadline_outside_the_callers_scope_does_not_end_a_task_entry(w, personas, api):
    mine, theirs = dispatched(w, personas), dispatched(w, personas, visit=w.visit_b)
    now = timezone.now()
    RectificationTask.objects.filter(pk=mine.pk).update(dispatched_at=now - dt.timedelta(hours=2),
                                                        due_at=now - dt.timedelta(hours=1))
    RectificationTask.objects.filter(pk=theirs.pk).update(due_at=now + dt.timedelta(seconds=1.2))
    client = api(personas.handler_a)
    assert ids(primed(client, "/api/v1/tasks/?overdue=true")) == [mine.pk]
    time.sleep(max(0.0, (now + dt.timedelta(seconds=1.2) - timezone.now()).total_seconds()) + 0.1)
    assert get(client, "/api/v1/tasks/?overdue=true")[0] == "hit"


def test_next_deadline_is_the_nearest_deadline_ahead_of_open_tasks(w, personas):
    from inspections.list_cache import next_deadline

    task, other = dispatched(w, personas), dispatched(w, personas)
    now = timezone.now()
    h = dt.timedelta(hours=1)
    RectificationTask.objects.filter(pk=task.pk).update(warn_at=now + h, due_at=now + 3 * h)
    RectificationTask.objects.filter(pk=other.pk).update(warn_at=now - h, due_at=now + 2 * h)
    tasks = RectificationTask.objects.all()
    assert next_deadline(tasks, {"overdue"}, now) == now + 2 * h
    assert next_deadline(tasks, {"light"}, now) == now + h
    RectificationTask.objects.filter(pk=other.pk).update(status=RectificationTask.Status.CLOSED)
    assert next_deadline(tasks, {"overdue"}, now) == now + 3 * h  # finished tasks have no deadline
    assert next_deadline(tasks, {"overdue"}, now + 4 * h) is None


def test_an_entry_expires_when_a_light_on_its_page_changes(w, personas, api):
    task = dispatched(w, personas)
    soon = timezone.now() + dt.timedelta(seconds=1.5)
    RectificationTask.objects.filter(pk=task.pk).update(warn_at=soon)
    client = api(personas.supervisor)
    assert primed(client, TASKS)["results"][0]["light"] == "green"
    time.sleep(max(0.0, (soon - timezone.now()).total_seconds()) + 0.1)
    state, body = get(client, TASKS)
    assert state == "miss" and body["results"][0]["light"] == "yellow"


def test_next_light_change_reads_open_tasks_only():
    now = timezone.now()
    h = dt.timedelta(hours=1)
    rows = [
        {"status": "assigned", "warn_at": now + 2 * h, "due_at": now + 3 * h},  # green → yellow at warn_at
        {"status": "in_progress", "warn_at": now - h, "due_at": now + h},  # yellow → red after due_at
        {"status": "closed", "warn_at": now + 0.5 * h, "due_at": now + 0.6 * h},  # finished: no light
        {"status": "returned", "warn_at": now - 2 * h, "due_at": now - h},  # red stays red
    ]
    assert next_light_change(rows, now) == now + h
    assert next_light_change(rows[2:], now) is None


def test_only_json_answers_with_200_are_kept(w, personas, api):
    finding(w, personas)
    client = api(personas.handler_a)
    html = client.get("/api/v1/findings/", HTTP_ACCEPT="text/html")
    assert html.status_code == 200 and html[listcache.HEADER] == "bypass"
    for _ in range(2):
        bad = client.get("/api/v1/findings/?status=nonsense")
        assert bad.status_code == 400 and bad.get(listcache.HEADER) != "hit"


def test_off_means_off(w, personas, api, settings):
    settings.LIST_CACHE_SECONDS = 0
    finding(w, personas)
    client = api(personas.handler_a)
    assert [get(client, FINDINGS)[0] for _ in range(2)] == ["bypass", "bypass"]


def test_lists_answer_while_the_cache_is_down_and_are_fresh_after(w, personas, api, settings, dead_cache):
    f = finding(w, personas)
    client = api(personas.handler_a)
    primed(client)
    settings.LIST_CACHE_ALIAS = dead_cache
    assert get(client, FINDINGS)[0] == "bypass"
    Finding.objects.filter(pk=f.pk).update(description="停机时改的")  # its bump cannot be written now
    assert listcache._pending
    state, body = get(client, FINDINGS)
    assert state == "bypass" and body["results"][0]["description"] == "停机时改的"
    settings.LIST_CACHE_ALIAS = "default"  # the cache is back: the missed bump is written before any read
    state, body = get(client, FINDINGS)
    assert state == "miss" and body["results"][0]["description"] == "停机时改的"
    assert not listcache._pending


def test_written_tables_finds_watched_tables_in_writes_only():
    assert listcache.written_tables('UPDATE "inspections_finding" SET "description" = %s') == {"inspections_finding"}
    assert listcache.written_tables('INSERT INTO "inspections_findingphoto" ("finding_id") VALUES (%s)') == \
        {"inspections_findingphoto"}
    assert listcache.written_tables('SELECT * FROM "inspections_finding" FOR UPDATE') == set()
    assert listcache.written_tables('INSERT INTO "inspections_historicalfinding" ("id") VALUES (1)') == set()
    assert listcache.written_tables('WITH x AS (DELETE FROM inspections_rectificationtask RETURNING id) '
                                    'SELECT 1') == {"inspections_rectificationtask"}


def test_a_hung_cache_costs_one_timeout_then_is_left_alone(w, personas, api, settings):
    finding(w, personas)
    client = api(personas.handler_a)
    hung = socket.socket()  # a "Redis" that accepts connections and never answers
    hung.bind(("127.0.0.1", 0))
    hung.listen(8)
    accepted = []

    def accept():
        while True:
            try:
                accepted.append(hung.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    try:
        settings.CACHES = {**settings.CACHES, "hung": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{hung.getsockname()[1]}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}
        settings.LIST_CACHE_ALIAS, settings.LIST_CACHE_RETRY_SECONDS = "hung", 30
        started = time.monotonic()
        assert get(client, FINDINGS)[0] == "bypass"
        assert time.monotonic() - started >= 0.5  # the read waited for its timeout
        tried = len(accepted)
        assert tried >= 1
        for _ in range(3):
            assert get(client, FINDINGS)[0] == "bypass"
        assert len(accepted) == tried  # and then the cache was left alone: no further connection
    finally:
        hung.close()
        for conn in accepted:
            conn.close()


@pytest.fixture
def redis_list_cache(settings, broker_url):
    """The production backend for the lists: a Redis database under a key prefix of its own,
    removed afterwards. Gives the prefix."""
    from django.core.cache import caches

    prefix = f"listcache-test-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {**settings.CACHES, "redis": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": broker_url, "KEY_PREFIX": prefix}}
    settings.LIST_CACHE_ALIAS = "redis"
    yield prefix
    redis = caches["redis"]._cache.get_client(write=True)
    for key in redis.scan_iter(match=f"{prefix}:*"):
        redis.delete(key)


def test_the_redis_cache_serves_and_invalidates(w, personas, api, redis_list_cache):
    """The production backend: a Redis database of its own key prefix, removed afterwards."""
    f = finding(w, personas)
    client = api(personas.handler_a)
    body = fresh_after(client, lambda: services.task_dispatch(actor=personas.supervisor, finding=f))
    assert body["results"][0]["status"] == "dispatched"
    assert get(client, FINDINGS) == ("hit", body)


def test_a_write_in_another_process_invalidates_this_ones_entries(w, personas, api, broker_url, project_root,
                                                                  redis_list_cache):
    """As a Celery worker's write must reach the web workers: a separate Django process
    updates a finding; this process's next request is computed."""
    prefix = redis_list_cache
    f = finding(w, personas)
    client = api(personas.handler_a)
    s = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}",
           "CACHE_URL": broker_url, "CACHE_KEY_PREFIX": prefix, "LIST_CACHE_SECONDS": "60"}
    code = f"from inspections.models import Finding; Finding.objects.filter(pk={f.pk}).update(description='别处改的')"
    primed(client)
    subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=project_root, env=env, check=True,
                   capture_output=True, timeout=120)
    state, body = get(client, FINDINGS)
    assert state == "miss" and body["results"][0]["description"] == "别处改的"
