"""Unit boundaries (issue 20, maps): the GeoJSON field, the import from a
FeatureCollection keyed by unit code (all or nothing, bad features named), the
page and the scoped GeoJSON API."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from campaigns.boundaries import demo_boxes, import_boundaries
from campaigns.geojson import clean_geometry, rectangle
from campaigns.models import Unit
from civportal.xlsx import ImportRejected
from tests.factories import make_unit

pytestmark = pytest.mark.django_db

SQUARE = rectangle(121.5, 29.8, 121.6, 29.9)


def upload(features, name="boundaries.geojson") -> SimpleUploadedFile:
    body = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    return SimpleUploadedFile(name, body, content_type="application/geo+json")


def feature(code, geometry=SQUARE, **properties):
    return {"type": "Feature", "properties": {"code": code, **properties}, "geometry": geometry}


@pytest.mark.parametrize("geometry, words", [
    ({"type": "Point", "coordinates": [121.5, 29.8]}, "Polygon"),
    ({"type": "Polygon", "coordinates": [[[121.5, 29.8], [121.6, 29.8], [121.6, 29.9], [121.5, 29.9]]]}, "end where"),
    ({"type": "Polygon", "coordinates": [[[121.5, 29.8], [121.6, 29.8], [121.5, 29.8]]]}, "four positions"),
    ({"type": "Polygon", "coordinates": [[[29.8, 191.5], [29.9, 121.5], [29.9, 121.6], [29.8, 191.5]]]}, "outside"),
    ({"type": "Polygon", "coordinates": [[["121.5", 29.8], [121.6, 29.8], [121.6, 29.9], ["121.5", 29.8]]]}, "numbers"),
    ({"type": "Polygon", "coordinates": [[[True, 29.8], [121.6, 29.8], [121.6, 29.9], [True, 29.8]]]}, "numbers"),
    ({"type": "MultiPolygon", "coordinates": []}, "at least one polygon"),
    ("not an object", "geometry object"),
])
def test_bad_geometries_are_refused_with_the_reason(geometry, words):
    with pytest.raises(ValidationError) as exc, translation.override("en"):
        clean_geometry(geometry)
    assert words in " ".join(exc.value.messages)


def test_polygons_and_multipolygons_are_kept_rounded():
    multi = {"type": "MultiPolygon", "coordinates": [SQUARE["coordinates"], rectangle(1, 2, 3, 4)["coordinates"]],
             "bbox": [0, 0, 1, 1]}
    assert clean_geometry(multi) == {"type": "MultiPolygon", "coordinates": multi["coordinates"]}
    fine = {"type": "Polygon", "coordinates": [[[121.1234567891, 29.8], [121.6, 29.8], [121.6, 29.9],
                                                [121.1234567891, 29.8]]]}
    assert clean_geometry(fine)["coordinates"][0][0] == [121.123457, 29.8]


def test_the_model_field_validates(city):
    unit = city.district_a
    unit.boundary = {"type": "Polygon", "coordinates": "nonsense"}
    with pytest.raises(ValidationError):
        unit.full_clean()
    unit.boundary = SQUARE
    unit.full_clean()


def test_import_sets_boundaries_with_history_and_reimport_is_unchanged(city, personas):
    result = import_boundaries(actor=personas.supervisor, upload=upload([feature("C-A"), feature("C-A-1")]))
    assert (result.updated, result.unchanged) == (2, 0)
    city.district_a.refresh_from_db()
    assert city.district_a.boundary == SQUARE
    last = Unit.history.filter(id=city.district_a.pk).first()
    assert last.boundary == SQUARE and last.history_user == personas.supervisor
    again = import_boundaries(actor=personas.supervisor, upload=upload([feature("C-A"), feature("C-A-1")]))
    assert (again.updated, again.unchanged) == (0, 2)


def test_a_bad_feature_imports_nothing_and_every_bad_feature_is_named_in_chinese(city, personas):
    bad = {"type": "Polygon", "coordinates": [[[121.5, 29.8], [121.6, 29.8], [121.6, 29.9], [121.5, 29.9]]]}
    features = [feature("C-A"), feature("C-B", bad), feature("NOPE"), feature("C-A"), {"type": "Feature"}]
    with pytest.raises(ImportRejected) as exc:
        import_boundaries(actor=personas.supervisor, upload=upload(features))
    errors = {e.row: (e.column, str(e.message)) for e in exc.value.errors}
    assert set(errors) == {2, 3, 4, 5}
    assert errors[2][0] == "第2个要素（C-B）" and "首尾" in errors[2][1]
    assert errors[3][0] == "第3个要素（NOPE）" and "您督查" in errors[3][1]
    assert "第1个要素" in errors[4][1]  # the same code twice
    assert "编码" in errors[5][1]
    assert not Unit.objects.filter(boundary__isnull=False).exists()


def test_units_outside_the_supervised_scope_are_refused(city, personas):
    from tests.factories import make_member
    from campaigns.models import Membership

    district_supervisor = make_member(city.district_b, Membership.Role.SUPERVISOR, "sup_b")
    with pytest.raises(ImportRejected) as exc:
        import_boundaries(actor=district_supervisor, upload=upload([feature("C-B-1"), feature("C-A")]))
    assert [e.row for e in exc.value.errors] == [2]
    with pytest.raises(ImportRejected):  # a head is no supervisor
        import_boundaries(actor=personas.head_a, upload=upload([feature("C-A")]))


@pytest.mark.parametrize("body, words", [
    (b"\xff\xfe not json", "不是"),
    (b'{"type": "Feature"}', "FeatureCollection"),
    (b'{"type": "FeatureCollection", "features": []}', "没有"),
    (b"[" * 100_000, "不是"),
])
def test_unreadable_files_are_refused(city, personas, body, words):
    with pytest.raises(ValidationError) as exc:
        import_boundaries(actor=personas.supervisor, upload=SimpleUploadedFile("x.geojson", body))
    assert words in " ".join(exc.value.messages)


def test_the_import_page(city, personas, login):
    client = login(personas.handler_a)
    assert client.get("/units/boundaries/import/").status_code == 403
    client = login(personas.supervisor)
    assert client.get("/units/tree/").content.decode().count("/units/boundaries/import/") == 1
    page = client.get("/units/boundaries/import/")
    assert page.status_code == 200 and "FeatureCollection" in page.content.decode()
    bad = client.post("/units/boundaries/import/", {"file": upload([feature("C-A", {"type": "Point"})])})
    assert bad.status_code == 400 and "第1个要素（C-A）" in bad.content.decode()
    assert Unit.objects.get(pk=city.district_a.pk).boundary is None
    good = client.post("/units/boundaries/import/", {"file": upload([feature("C-A")])})
    assert good.status_code == 302
    assert Unit.objects.get(pk=city.district_a.pk).boundary == SQUARE


def _with_boundaries(city, n=0):
    units = [city.city, city.district_a, city.street_a1, city.district_b, city.street_b1]
    units += [make_unit(city.district_a, kind=Unit.Kind.STREET, name=f"街道{i}", code=f"C-A-X{i}") for i in range(n)]
    Unit.objects.filter(pk__in=[u.pk for u in units]).update(boundary=SQUARE)


def test_the_api_lists_geojson_of_the_callers_scope_only(city, personas, api):
    _with_boundaries(city)
    data = api(personas.handler_b).get("/api/v1/unit-boundaries/").json()
    assert data["type"] == "FeatureCollection" and data["count"] == 2
    assert {f["properties"]["code"] for f in data["features"]} == {"C-B", "C-B-1"}
    first = data["features"][0]
    assert first["type"] == "Feature" and first["geometry"] == SQUARE and first["properties"]["parent_code"] == "C"
    assert api(personas.handler_b).get(f"/api/v1/unit-boundaries/{city.district_a.pk}/").status_code == 404
    one = api(personas.handler_a).get(f"/api/v1/unit-boundaries/{city.street_a1.pk}/").json()
    assert one["properties"]["name"] == "人民路街道" and one["geometry"]["type"] == "Polygon"
    # Units without a boundary are not listed; the unit filters apply.
    everything = api(personas.supervisor).get("/api/v1/unit-boundaries/", {"parent": "C"}).json()
    assert {f["properties"]["code"] for f in everything["features"]} == {"C-A", "C-B"}
    assert api(personas.supervisor).get("/api/v1/unit-boundaries/", {"within": "C-A"}).json()["count"] == 2
    # An out-of-scope unit in a filter is an error, not a silent list.
    assert api(personas.handler_b).get("/api/v1/unit-boundaries/", {"within": "C-A"}).status_code == 400
    assert api().get("/api/v1/unit-boundaries/").status_code == 401


@pytest.mark.parametrize("extra", [0, 30])
def test_the_api_costs_the_same_queries_for_more_units(city, personas, api, extra):
    _with_boundaries(city, extra)
    client = api(personas.supervisor)
    client.get("/api/v1/unit-boundaries/")  # warm the per-process caches
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/v1/unit-boundaries/")
    assert response.json()["count"] == 5 + extra
    assert len(ctx.captured_queries) <= 6, [q["sql"] for q in ctx.captured_queries]


def test_demo_boxes_tile_the_city_without_overlap(city):
    units = list(Unit.objects.all())
    boxes = demo_boxes(units)
    assert city.department.code not in boxes and city.grid_a1.code in boxes
    a, b = boxes["C-A"], boxes["C-B"]
    assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]  # districts side by side
    street, community = boxes["C-A-1"], boxes["C-A-1-1"]
    assert a[0] <= street[0] <= street[2] <= a[2] and street[1] <= community[1] <= community[3] <= street[3]
