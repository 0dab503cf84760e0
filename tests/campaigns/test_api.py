import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Membership, Unit


def test_supervisor_creates_updates_moves_and_deactivates_a_unit(personas, city, api):
    client = api(personas.supervisor)
    response = client.post("/api/v1/units/", {"parent": city.street_a1.pk, "code": "C-A-1-2", "name": "锦绣社区",
                                              "kind": "community", "population": 8000}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["parent"] == city.street_a1.pk and body["parent_code"] == "C-A-1" and body["depth"] == 4
    pk = body["id"]
    response = client.patch(f"/api/v1/units/{pk}/", {"name": "锦绣花园社区"}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "锦绣花园社区"
    response = client.post(f"/api/v1/units/{pk}/move/", {"parent": city.street_b1.pk}, format="json")
    assert response.status_code == 200 and response.json()["parent_code"] == "C-B-1"
    response = client.post(f"/api/v1/units/{pk}/deactivate/")
    assert response.status_code == 200 and response.json()["active"] is False
    assert Unit.objects.get(pk=pk).history.count() >= 4


def test_unit_validation_errors_are_json_and_change_nothing(personas, city, api):
    client = api(personas.supervisor)
    before = Unit.objects.count()
    response = client.post("/api/v1/units/", {"parent": city.city.pk, "code": "G", "name": "网格", "kind": "grid"},
                           format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "parent" in response.json()["errors"]
    response = client.post("/api/v1/units/", {"parent": 999999, "code": "\x00", "name": "😀" * 200, "kind": "x"},
                           format="json")
    assert response.status_code == 400
    response = client.post(f"/api/v1/units/{city.district_a.pk}/move/", {"parent": city.grid_a1.pk}, format="json")
    assert response.status_code == 400
    assert Unit.objects.count() == before


def test_delete_is_not_offered(personas, city, api):
    response = api(personas.supervisor).delete(f"/api/v1/units/{city.grid_a1.pk}/")
    assert response.status_code in (403, 405)
    assert Unit.objects.filter(pk=city.grid_a1.pk).exists()


def test_supervisor_adds_and_ends_memberships(personas, city, api):
    client = api(personas.supervisor)
    response = client.post("/api/v1/memberships/", {"user": personas.outsider.pk, "unit": city.street_b1.pk,
                                                    "role": "handler", "title": "街道经办人"}, format="json")
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]
    assert api(personas.outsider).get("/api/v1/units/").status_code == 200
    again = client.post("/api/v1/memberships/", {"user": personas.outsider.pk, "unit": city.street_b1.pk,
                                                 "role": "handler"}, format="json")
    assert again.status_code == 400
    response = client.post(f"/api/v1/memberships/{pk}/end/")
    assert response.status_code == 200 and response.json()["active"] is False
    assert Membership.objects.filter(pk=pk).exists()


@pytest.mark.parametrize("query", [
    {"kind": "street"}, {"q": "区"}, {"active": "true"}, {"within": "1"}, {"ordering": "-name"},
    {"kind": "\x00"}, {"within": "abc"}, {"q": "x" * 5000}, {"limit": "-1"}, {"offset": "abc"}, {"parent": "😀"},
])
def test_filters_never_500(personas, city, api, query):
    response = api(personas.supervisor).get("/api/v1/units/", query)
    assert response.status_code in (200, 400)


def test_within_filter_returns_the_subtree(personas, city, api):
    rows = api(personas.supervisor).get("/api/v1/units/", {"within": city.street_a1.pk}).json()["results"]
    assert {row["code"] for row in rows} == {"C-A-1", "C-A-1-1", "C-A-1-1-1"}
    rows = api(personas.supervisor).get("/api/v1/units/", {"within": "C-A-1"}).json()["results"]
    assert {row["code"] for row in rows} == {"C-A-1", "C-A-1-1", "C-A-1-1-1"}
    rows = api(personas.supervisor).get("/api/v1/units/", {"parent": city.city.pk}).json()["results"]
    assert {row["code"] for row in rows} == {"C-A", "C-B", "C-CGJ"}


def test_handler_cannot_filter_into_another_district(personas, city, api):
    response = api(personas.handler_a).get("/api/v1/units/", {"within": city.district_b.pk})
    assert response.status_code == 400


def _grow(city, n):
    from tests.factories import make_member, make_unit

    for i in range(n):
        community = make_unit(city.street_a1, kind=Unit.Kind.COMMUNITY, code=f"Q{i:03d}")
        make_member(community, Membership.Role.HANDLER, f"q{i:03d}")


@pytest.mark.parametrize("path", ["/api/v1/units/", "/api/v1/memberships/"])
def test_api_list_query_count_does_not_grow_with_page_size(personas, city, api, path):
    _grow(city, 60)
    client = api(personas.supervisor)
    counts = []
    for limit in (1, 50):
        client.get(path, {"limit": limit})  # warm per-process caches (content types)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path, {"limit": limit})
        assert response.status_code == 200 and len(response.json()["results"]) == limit
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] <= 8, counts


@pytest.mark.parametrize("path", ["/units/", "/units/tree/", "/units/{street}/"])
def test_page_query_count_does_not_grow_with_page_size(personas, city, login, path):
    _grow(city, 60)
    client = login(personas.supervisor)
    url = path.format(street=city.street_a1.pk)
    counts = []
    for per_page in (1, 50):
        client.get(url, {"per_page": per_page})
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url, {"per_page": per_page}).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] <= 8, counts
