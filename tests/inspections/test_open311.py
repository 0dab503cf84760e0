"""Open311 GeoReport v2 at /open311/v2/ (issue 8, acceptance 4 and 5): every
endpoint in JSON and XML against the spec's element names and types, its
error format and statuses, key scope, the status mapping along the loop,
hostile input and pinned query counts."""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import services as campaign_services
from campaigns.models import Membership, Point
from inspections import services
from inspections.models import Finding, FindingCategory
from open311.models import ServiceRequestInfo

from .helpers import jpeg, world

Role = Membership.Role
BASE = "/open311/v2"
FORMATS = ["json", "xml"]
W3C = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")

SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
ATTRIBUTE_FIELDS = ["variable", "code", "datatype", "required", "datatype_description", "order", "description",
                    "values"]
REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"]
DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}


# --- helpers --------------------------------------------------------------------------------


def parse(response, fmt):
    """JSON as Python; XML as the root element (checking the declaration and content type)."""
    if fmt == "json":
        assert response["Content-Type"] == "application/json; charset=utf-8"
        return json.loads(response.content.decode("utf-8"))
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


def xml_items(root, root_name, item_name):
    assert root.tag == root_name
    assert all(child.tag == item_name for child in root)
    return list(root)


def as_dict(element) -> dict:
    return {child.tag: child for child in element}


def assert_error(response, status, fmt, contains=None):
    assert response.status_code == status, response.content[:500]
    body = parse(response, fmt)
    if fmt == "json":
        assert isinstance(body, list) and body
        for error in body:
            assert list(error) == ["code", "description"]
            assert error["code"] == status and isinstance(error["description"], str) and error["description"]
        descriptions = [e["description"] for e in body]
    else:
        errors = xml_items(body, "errors", "error")
        assert errors
        for error in errors:
            assert [c.tag for c in error] == ["code", "description"]
            assert error.find("code").text == str(status) and error.find("description").text
        descriptions = [e.find("description").text for e in errors]
    if contains:
        assert any(contains in d for d in descriptions), descriptions
    return descriptions


def check_request_json(row):
    assert list(row) == REQUEST_FIELDS
    assert isinstance(row["service_request_id"], str) and row["service_request_id"].isdigit()
    assert row["status"] in ("open", "closed")
    for name in ("status_notes", "service_name", "service_code", "description", "agency_responsible",
                 "service_notice", "address"):
        assert isinstance(row[name], str)
    for name in ("requested_datetime", "updated_datetime"):
        assert W3C.match(row[name]), row[name]
    assert row["expected_datetime"] is None or W3C.match(row["expected_datetime"])
    for name in ("lat", "long"):
        assert row[name] is None or isinstance(row[name], float)
    assert row["address_id"] is None or isinstance(row["address_id"], str)
    assert row["zipcode"] is None
    assert row["media_url"] is None or row["media_url"].startswith("http")


def check_request_xml(element):
    assert element.tag == "request"
    assert [c.tag for c in element] == REQUEST_FIELDS
    fields = {c.tag: (c.text or "") for c in element}
    assert fields["service_request_id"].isdigit()
    assert fields["status"] in ("open", "closed")
    for name in ("requested_datetime", "updated_datetime"):
        assert W3C.match(fields[name])
    assert fields["expected_datetime"] == "" or W3C.match(fields["expected_datetime"])
    for name in ("lat", "long"):
        if fields[name]:
            float(fields[name])
    return fields


def rows_of(response, fmt):
    body = parse(response, fmt)
    if fmt == "json":
        assert isinstance(body, list)
        for row in body:
            check_request_json(row)
        return body
    return [check_request_xml(e) for e in xml_items(body, "service_requests", "request")]


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def w(city, personas):
    return world(city, personas)


@pytest.fixture
def keys(city, personas, api_key):
    """Raw keys: inspector of district A, inspector of district B, handler of A, supervisor of the city."""
    sup = personas.supervisor
    return {
        "a": api_key(sup, city.district_a, Role.INSPECTOR, name="东湖区热线")[1],
        "b": api_key(sup, city.district_b, Role.INSPECTOR, name="西江区热线")[1],
        "handler_a": api_key(sup, city.district_a, Role.HANDLER, name="东湖区只读")[1],
        "city": api_key(sup, city.city, Role.SUPERVISOR, name="城市平台")[1],
    }


@pytest.fixture
def c():
    return Client()


def post(c, fmt, **data):
    return c.post(f"{BASE}/requests.{fmt}", data)


def near_a(**extra):
    """Form data near point A (春晖农贸市场, community A1), about 20 m away."""
    return {"service_code": "HJ-01", "lat": "29.870150", "long": "121.550050", "description": "市场门口垃圾堆积",
            **extra}


def inspection_finding(w, personas, visit=None):
    finding, _ = services.finding_create(actor=personas.inspector, source=Finding.Source.INSPECTION,
                                         category=w.category, description="现场发现", visit=visit or w.visit_a,
                                         photos_in=[jpeg()])
    return finding


# --- discovery and services -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery(c, db, fmt):
    response = c.get(f"{BASE}/discovery.{fmt}")
    assert response.status_code == 200
    body = parse(response, fmt)
    if fmt == "json":
        assert list(body) == ["changeset", "contact", "key_service", "endpoints"]
        (endpoint,) = body["endpoints"]
        assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
        assert endpoint["url"].endswith("/open311/v2") and endpoint["type"] == "production"
        assert endpoint["formats"] == ["text/xml", "application/json"]
        assert W3C.match(body["changeset"])
    else:
        assert body.tag == "discovery"
        assert [c.tag for c in body] == ["changeset", "contact", "key_service", "endpoints"]
        (endpoint,) = xml_items(body.find("endpoints"), "endpoints", "endpoint")
        assert [c.tag for c in endpoint] == ["specification", "url", "changeset", "type", "formats"]
        assert endpoint.find("specification").text == "http://wiki.open311.org/GeoReport_v2"
        assert [f.text for f in xml_items(endpoint.find("formats"), "formats", "format")] == \
            ["text/xml", "application/json"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_services_are_the_active_leaf_categories(c, w, fmt):
    FindingCategory.objects.create(code="HJ-99", name="已停用类别", group=w.group, active=False)
    response = c.get(f"{BASE}/services.{fmt}")
    assert response.status_code == 200
    body = parse(response, fmt)
    if fmt == "json":
        services_ = {s["service_code"]: s for s in body}
        for service in body:
            assert list(service) == SERVICE_FIELDS
            assert service["metadata"] is True and service["type"] == "realtime"
            assert isinstance(service["keywords"], str)
        ours = services_["HJ-01"]
        assert ours["service_name"] == "垃圾乱堆乱放" and ours["group"] == "环境卫生"
    else:
        services_ = {}
        for service in xml_items(body, "services", "service"):
            assert [c.tag for c in service] == SERVICE_FIELDS
            assert service.find("metadata").text == "true" and service.find("type").text == "realtime"
            services_[service.find("service_code").text] = service
        assert services_["HJ-01"].find("group").text == "环境卫生"
    assert "HJ" not in services_  # a group is not a service
    assert "HJ-99" not in services_  # inactive


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition(c, w, fmt):
    response = c.get(f"{BASE}/services/HJ-01.{fmt}")
    assert response.status_code == 200
    body = parse(response, fmt)
    if fmt == "json":
        assert list(body) == ["service_code", "attributes"] and body["service_code"] == "HJ-01"
        orders = []
        for attribute in body["attributes"]:
            assert list(attribute) == ATTRIBUTE_FIELDS
            assert attribute["datatype"] in DATATYPES and isinstance(attribute["required"], bool)
            assert isinstance(attribute["variable"], bool) and isinstance(attribute["order"], int)
            orders.append(attribute["order"])
        assert len(set(orders)) == len(orders)
        severity = next(a for a in body["attributes"] if a["code"] == "severity")
        assert severity["datatype"] == "singlevaluelist"
        assert [v["key"] for v in severity["values"]] == ["minor", "moderate", "severe"]
        assert all(list(v) == ["key", "name"] for v in severity["values"])
    else:
        assert body.tag == "service_definition"
        assert body.find("service_code").text == "HJ-01"
        attributes = xml_items(body.find("attributes"), "attributes", "attribute")
        for attribute in attributes:
            assert [c.tag for c in attribute] == ATTRIBUTE_FIELDS
            assert attribute.find("datatype").text in DATATYPES
            assert attribute.find("required").text in ("true", "false")
            int(attribute.find("order").text)
        severity = next(a for a in attributes if a.find("code").text == "severity")
        values = xml_items(severity.find("values"), "values", "value")
        assert [v.find("key").text for v in values] == ["minor", "moderate", "severe"]
        assert all([c.tag for c in v] == ["key", "name"] for v in values)


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_service_format_and_url(c, w, fmt):
    assert_error(c.get(f"{BASE}/services/NOPE.{fmt}"), 404, fmt)
    assert_error(c.get(f"{BASE}/services/HJ.{fmt}"), 404, fmt)  # a group
    assert_error(c.get(f"{BASE}/nothing.{fmt}"), 404, fmt)
    assert_error(c.get(f"/open311/v3/services.{fmt}"), 404, fmt)
    assert_error(c.delete(f"{BASE}/services.{fmt}"), 405, fmt)
    assert_error(c.get(f"{BASE}/services.csv"), 404, "json")


@pytest.mark.parametrize("fmt", FORMATS)
def test_jurisdiction_id(c, w, settings, fmt):
    settings.OPEN311_JURISDICTION_ID = "civ.example.cn"
    assert c.get(f"{BASE}/services.{fmt}", {"jurisdiction_id": "civ.example.cn"}).status_code == 200
    assert c.get(f"{BASE}/services.{fmt}", {"jurisdiction_id": ""}).status_code == 200
    assert_error(c.get(f"{BASE}/services.{fmt}", {"jurisdiction_id": "sfgov.org"}), 404, fmt, "civ.example.cn")


def test_the_default_jurisdiction_is_the_site_host():
    from django.conf import settings

    assert settings.OPEN311_JURISDICTION_ID == (settings.SITE_URL.split("://", 1)[1].split("/")[0].split(":")[0])


# --- filing requests ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_creates_a_finding_at_the_nearest_point(c, w, keys, city, fmt):
    response = post(c, fmt, api_key=keys["a"], email="zhang@example.cn", first_name="三", last_name="张",
                    phone="13800000000", device_id="dev-1", account_id="acct-9", jurisdiction_id="127.0.0.1",
                    media_url="https://img.example.cn/1.jpg", **{"attribute[severity]": "severe"}, **near_a())
    assert response.status_code == 201, response.content
    body = parse(response, fmt)
    if fmt == "json":
        (row,) = body
        assert list(row) == ["service_request_id", "service_notice", "account_id"]
        request_id, account_id = row["service_request_id"], row["account_id"]
        assert isinstance(row["service_notice"], str) and row["service_notice"]
    else:
        (row,) = xml_items(body, "service_requests", "request")
        assert [c.tag for c in row] == ["service_request_id", "service_notice", "account_id"]
        request_id, account_id = row.find("service_request_id").text, row.find("account_id").text
    assert account_id == "acct-9"
    finding = Finding.objects.get(pk=int(request_id))
    assert finding.source == Finding.Source.API and finding.status == Finding.Status.NEW
    assert finding.point == w.point_a and finding.unit == city.community_a1
    assert finding.severity == "severe" and finding.description == "市场门口垃圾堆积"
    assert finding.latitude == Decimal("29.870150") and finding.reporter_name == "张三"
    assert finding.reporter_contact == "13800000000 / zhang@example.cn"
    info = ServiceRequestInfo.objects.get(finding=finding)
    assert info.media_url == "https://img.example.cn/1.jpg" and info.device_id == "dev-1"
    assert info.attributes == {"severity": "severe"}
    assert not finding.photos.exists()  # media_url is a reference, never downloaded


def test_post_with_address_only_files_at_the_keys_unit(c, w, keys, city):
    response = post(c, "json", api_key=keys["a"], service_code="HJ-01", address_string="人民路88号")
    assert response.status_code == 201
    finding = Finding.objects.get(pk=int(response.json()[0]["service_request_id"]))
    assert finding.unit == city.district_a and finding.point is None and finding.address == "人民路88号"
    assert finding.description == "垃圾乱堆乱放"  # no description: the service name


def test_post_with_address_id_names_a_point(c, w, keys):
    Point.objects.filter(pk=w.point_a.pk).update(code="MZ-P-001")
    Point.objects.filter(pk=w.point_b.pk).update(code="MZ-P-002")
    response = post(c, "json", api_key=keys["a"], service_code="HJ-01", address_id="MZ-P-001")
    assert response.status_code == 201
    assert Finding.objects.get(pk=int(response.json()[0]["service_request_id"])).point == w.point_a
    assert_error(post(c, "json", api_key=keys["a"], service_code="HJ-01", address_id="MZ-P-002"), 400, "json")
    assert_error(post(c, "json", api_key=keys["a"], service_code="HJ-01", address_id="MZ-P-404"), 400, "json")


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_outside_the_keys_district_is_refused(c, w, keys, fmt):
    near_b = near_a(lat="29.880100", long="121.560100")
    assert_error(post(c, fmt, api_key=keys["a"], **near_b), 403, fmt)
    assert post(c, fmt, api_key=keys["b"], **near_b).status_code == 201
    assert not Finding.objects.filter(source="api", unit=w.point_b.unit).exclude(reporter__api_client__name="西江区热线")


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_key_errors(c, w, keys, personas, fmt):
    assert_error(post(c, fmt, **near_a()), 403, fmt)
    assert_error(post(c, fmt, api_key="civ_00000000_" + "x" * 43, **near_a()), 403, fmt)
    assert_error(post(c, fmt, api_key="garbage", **near_a()), 403, fmt)
    assert_error(post(c, fmt, api_key=keys["handler_a"], **near_a()), 403, fmt)  # role may not record findings
    from campaigns.models import ApiClient

    campaign_services.api_client_revoke(actor=personas.supervisor, client=ApiClient.objects.get(name="东湖区热线"))
    assert_error(post(c, fmt, api_key=keys["a"], **near_a()), 403, fmt)
    ApiClient.objects.filter(name="西江区热线").update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert_error(post(c, fmt, api_key=keys["b"], **near_a(lat="29.880100", long="121.560100")), 403, fmt)
    assert not Finding.objects.filter(source="api").exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_input_errors(c, w, keys, fmt):
    key = keys["a"]
    cases = [
        ({"lat": "29.87", "long": "121.55"}, 400),  # no service_code
        (near_a(service_code="NOPE"), 404),
        ({"service_code": "HJ-01"}, 400),  # no location
        (near_a(lat="north"), 400),
        (near_a(lat="91"), 400),
        (near_a(long="NaN"), 400),
        (near_a(long="Infinity"), 400),
        (near_a(long=""), 400),  # lat without long
        (near_a(**{"attribute[severity]": "apocalyptic"}), 400),
        (near_a(**{"attribute[colour]": "red"}), 400),
        (near_a(**{"attribute[observed_at]": "2026-02-30T08:00:00+08:00"}), 400),
        (near_a(**{"attribute[observed_at]": "2999-01-01T08:00:00+08:00"}), 400),
        (near_a(email="not-an-email"), 400),
        (near_a(media_url="javascript:alert(1)"), 400),
        (near_a(media_url="file:///etc/passwd"), 400),
        (near_a(description="长" * 4001), 400),
        (near_a(jurisdiction_id="sfgov.org"), 404),
    ]
    for data, status in cases:
        assert_error(post(c, fmt, api_key=key, **data), status, fmt)
    assert not Finding.objects.filter(source="api").exists()


def test_post_is_idempotent_on_the_external_id_attribute(c, w, keys):
    data = near_a(api_key=keys["a"], **{"attribute[external_id]": "12345-2026-000001"})
    first = post(c, "json", **data)
    again = post(c, "json", **data)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()[0]["service_request_id"] == again.json()[0]["service_request_id"]
    assert Finding.objects.filter(source="api").count() == 1
    # Another district's key with the same number learns nothing about that request.
    other = post(c, "json", **near_a(api_key=keys["b"], lat="29.880100", long="121.560100",
                                     **{"attribute[external_id]": "12345-2026-000001"}))
    assert_error(other, 400, "json")


def test_post_is_csrf_exempt(w, keys):
    csrf_client = Client(enforce_csrf_checks=True)
    assert post(csrf_client, "json", api_key=keys["a"], **near_a()).status_code == 201


def test_post_needs_a_key_even_when_signed_in(login, w, personas):
    c = login(personas.supervisor)
    assert_error(post(c, "json", **near_a()), 403, "json")


def test_the_key_may_come_in_the_authorization_header(w, keys):
    c = Client(HTTP_AUTHORIZATION=f"Api-Key {keys['a']}")
    assert post(c, "json", **near_a()).status_code == 201
    assert c.get(f"{BASE}/requests.json").status_code == 200


# --- reading requests -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_requests_list_is_scoped_to_the_key(c, w, keys, personas, fmt):
    mine = inspection_finding(w, personas)
    theirs = inspection_finding(w, personas, visit=w.visit_b)
    response = c.get(f"{BASE}/requests.{fmt}", {"api_key": keys["a"]})
    assert response.status_code == 200
    ids = [r["service_request_id"] for r in rows_of(response, fmt)]
    assert ids == [str(mine.pk)]
    ids = [r["service_request_id"] for r in rows_of(c.get(f"{BASE}/requests.{fmt}", {"api_key": keys["city"]}), fmt)]
    assert set(ids) == {str(mine.pk), str(theirs.pk)}
    # Asking for another district's request by id finds nothing.
    response = c.get(f"{BASE}/requests.{fmt}", {"api_key": keys["a"], "service_request_id": f"{theirs.pk}"})
    assert rows_of(response, fmt) == []
    assert_error(c.get(f"{BASE}/requests/{theirs.pk}.{fmt}", {"api_key": keys["a"]}), 404, fmt)
    assert_error(c.get(f"{BASE}/tokens/{theirs.uid}.{fmt}", {"api_key": keys["a"]}), 404, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_request_detail_and_token(c, w, keys, personas, fmt):
    response = post(c, "json", api_key=keys["a"], media_url="https://img.example.cn/2.jpg", **near_a())
    request_id = response.json()[0]["service_request_id"]
    finding = Finding.objects.get(pk=int(request_id))
    (row,) = rows_of(c.get(f"{BASE}/requests/{request_id}.{fmt}", {"api_key": keys["a"]}), fmt)
    assert row["service_request_id"] == request_id and row["status"] == "open"
    assert row["service_code"] == "HJ-01" and row["service_name"] == "垃圾乱堆乱放"
    assert row["agency_responsible"] == "春晖社区" and row["address_id"] in (None, "")
    assert row["media_url"] == "https://img.example.cn/2.jpg"
    if fmt == "json":
        assert row["lat"] == 29.87015 and row["long"] == 121.55005 and row["expected_datetime"] is None
    response = c.get(f"{BASE}/tokens/{finding.uid}.{fmt}", {"api_key": keys["a"]})
    assert response.status_code == 200
    body = parse(response, fmt)
    if fmt == "json":
        assert body == [{"service_request_id": request_id, "token": str(finding.uid)}]
    else:
        (item,) = xml_items(body, "service_requests", "request")
        assert [(c.tag, c.text) for c in item] == [("service_request_id", request_id), ("token", str(finding.uid))]
    assert_error(c.get(f"{BASE}/tokens/not-a-token.{fmt}", {"api_key": keys["a"]}), 404, fmt)
    assert_error(c.get(f"{BASE}/requests/abc.{fmt}", {"api_key": keys["a"]}), 404, fmt)
    assert_error(c.get(f"{BASE}/requests/99999999.{fmt}", {"api_key": keys["a"]}), 404, fmt)
    assert_error(c.get(f"{BASE}/requests/١٢.{fmt}", {"api_key": keys["a"]}), 404, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_reading_needs_a_key_or_a_session(c, w, keys, personas, login, settings, fmt):
    finding = inspection_finding(w, personas)
    for path in ("requests", f"requests/{finding.pk}", f"tokens/{finding.uid}"):
        assert_error(c.get(f"{BASE}/{path}.{fmt}"), 403, fmt)
        assert_error(c.get(f"{BASE}/{path}.{fmt}", {"api_key": "civ_12345678_" + "y" * 43}), 403, fmt)
    signed_in = login(personas.head_a)
    assert [r["service_request_id"] for r in rows_of(signed_in.get(f"{BASE}/requests.{fmt}"), fmt)] == [str(finding.pk)]
    outsider = login(personas.handler_b)
    assert rows_of(outsider.get(f"{BASE}/requests.{fmt}"), fmt) == []
    settings.OPEN311_PUBLIC_READ = True
    anonymous = Client()
    assert len(rows_of(anonymous.get(f"{BASE}/requests.{fmt}"), fmt)) == 1
    assert anonymous.get(f"{BASE}/requests/{finding.pk}.{fmt}").status_code == 200
    assert_error(post(anonymous, fmt, **near_a()), 403, fmt)  # filing still needs a key


def test_revoked_and_expired_keys_cannot_read(c, w, keys, personas):
    from campaigns.models import ApiClient

    campaign_services.api_client_revoke(actor=personas.supervisor, client=ApiClient.objects.get(name="东湖区热线"))
    assert_error(c.get(f"{BASE}/requests.json", {"api_key": keys["a"]}), 403, "json")
    ApiClient.objects.filter(name="西江区热线").update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert_error(c.get(f"{BASE}/requests.xml", {"api_key": keys["b"]}), 403, "xml")
    # An invalid key is refused even where no key is needed.
    assert_error(c.get(f"{BASE}/services.json", {"api_key": keys["a"]}), 403, "json")


@pytest.mark.parametrize("fmt", FORMATS)
def test_requests_filters(c, w, keys, personas, fmt):
    key = {"api_key": keys["city"]}
    other = FindingCategory.objects.create(code="HJ-02", name="卫生死角", group=w.group)
    old = inspection_finding(w, personas)
    Finding.objects.filter(pk=old.pk).update(observed_at=timezone.now() - dt.timedelta(days=120))
    first = inspection_finding(w, personas)
    second, _ = services.finding_create(actor=personas.inspector, source=Finding.Source.INSPECTION, category=other,
                                        description="死角", visit=w.visit_b, photos_in=[jpeg()])
    services.finding_void(actor=personas.supervisor, finding=second, reason="误报")

    def ids(**params):
        response = c.get(f"{BASE}/requests.{fmt}", {**key, **params})
        assert response.status_code == 200, response.content
        return {r["service_request_id"] for r in rows_of(response, fmt)}

    assert ids() == {str(first.pk), str(second.pk)}  # the last 90 days by default
    assert ids(service_code="HJ-02") == {str(second.pk)}
    assert ids(service_code="HJ-01,HJ-02") == {str(first.pk), str(second.pk)}
    assert ids(status="open") == {str(first.pk)}
    assert ids(status="closed") == {str(second.pk)}
    assert ids(status="open,closed") == {str(first.pk), str(second.pk)}
    start = (timezone.now() - dt.timedelta(days=130)).strftime("%Y-%m-%dT%H:%M:%S+08:00")
    end = (timezone.now() - dt.timedelta(days=100)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(start_date=start, end_date=end) == {str(old.pk)}
    assert ids(start_date=start) == {str(old.pk)}  # 90 days from the start
    # service_request_id overrides every other filter (even the 90 days).
    assert ids(service_request_id=f"{old.pk},{second.pk}", status="open") == {str(old.pk), str(second.pk)}
    bad = [{"service_code": "NOPE"}, {"status": "pending"}, {"start_date": "2026-02-30"},
           {"end_date": "yesterday"}, {"start_date": "2026-03-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
           {"start_date": "2025-01-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
           {"service_request_id": "1,two"},
           {"end_date": "0001-01-02"}, {"start_date": "9999-12-31T23:59:59+08:00"}]
    for params in bad:
        assert_error(c.get(f"{BASE}/requests.{fmt}", {**key, **params}), 400, fmt)


def test_an_unencoded_plus_in_a_date_is_understood(c, w, keys, personas):
    finding = inspection_finding(w, personas)
    start = (timezone.now() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    response = c.get(f"{BASE}/requests.json?api_key={keys['a']}&start_date={start}+08:00")
    assert response.status_code == 200
    assert [r["service_request_id"] for r in response.json()] == [str(finding.pk)]


def test_status_follows_the_loop(c, w, keys, personas, city):
    request_id = post(c, "json", api_key=keys["a"], **near_a()).json()[0]["service_request_id"]
    finding = Finding.objects.get(pk=int(request_id))

    def row():
        return c.get(f"{BASE}/requests/{request_id}.json", {"api_key": keys["a"]}).json()[0]

    new = row()
    assert new["status"] == "open" and new["status_notes"] and new["expected_datetime"] is None
    task = services.task_dispatch(actor=personas.supervisor, finding=finding)
    state = row()
    assert state["status"] == "open" and state["expected_datetime"] and state["agency_responsible"] == "春晖社区"
    assert "春晖社区" in state["status_notes"]
    task = services.task_accept(actor=personas.handler_a, task=task)
    services.task_submit(actor=personas.handler_a, task=task, note="已清理", photos_in=[jpeg("after.jpg")])
    submitted = row()
    assert submitted["status"] == "open" and submitted["status_notes"] != state["status_notes"]
    task.refresh_from_db()
    services.task_verify(actor=personas.supervisor, task=task, passed=True)
    closed = row()
    finding.refresh_from_db()
    assert closed["status"] == "closed" and closed["expected_datetime"] is None
    assert closed["updated_datetime"] == timezone.localtime(finding.closed_at).isoformat(timespec="seconds")
    assert closed["status_notes"] not in (state["status_notes"], submitted["status_notes"])
    ids = [r["service_request_id"] for r in c.get(f"{BASE}/requests.json",
                                                 {"api_key": keys["a"], "status": "closed"}).json()]
    assert ids == [request_id]


def test_status_notes_are_translated(c, w, keys, personas):
    inspection_finding(w, personas)
    chinese = c.get(f"{BASE}/requests.json", {"api_key": keys["a"]}).json()[0]["status_notes"]
    english = c.get(f"{BASE}/requests.json", {"api_key": keys["a"]}, HTTP_ACCEPT_LANGUAGE="en").json()[0]
    assert re.search(r"[\u4e00-\u9fff]", chinese)
    assert english["status_notes"] == "Received; awaiting triage by the campaign office."
    error = c.get(f"{BASE}/requests.json", HTTP_ACCEPT_LANGUAGE="en").json()[0]["description"]
    assert "api_key" in error and not re.search(r"[\u4e00-\u9fff]", error)
    zh_error = c.get(f"{BASE}/requests.json").json()[0]["description"]
    assert re.search(r"[\u4e00-\u9fff]", zh_error)
    assert c.get(f"{BASE}/requests.json", {"locale": "en"}).json()[0]["description"] == error


# --- limits, hostile input, queries ---------------------------------------------------------


def test_rate_limit_answers_429_in_the_spec_format(c, w, keys, settings):
    settings.API_RATE_PER_MINUTE = 2
    for _ in range(2):
        assert c.get(f"{BASE}/requests.json", {"api_key": keys["a"]}).status_code == 200
    response = c.get(f"{BASE}/requests.xml", {"api_key": keys["a"]})
    assert_error(response, 429, "xml")
    assert int(response["Retry-After"]) >= 1
    # Another key has its own budget.
    assert c.get(f"{BASE}/requests.json", {"api_key": keys["b"]}).status_code == 200


HOSTILE = {
    "nul": "a\x00b",
    "1mb": "长" * (1024 * 1024 // 3),
    "bad-date": "2026-02-30",
    "emoji": "🚧🏙️👍🏽",
    "chinese": "文明城市创建测评",
    "control": "a\x0bb",
}
GET_PARAMS = ["jurisdiction_id", "service_request_id", "service_code", "start_date", "end_date", "status", "locale",
              "api_key"]
POST_FIELDS = ["service_code", "lat", "long", "address_string", "address_id", "description", "media_url", "email",
               "device_id", "account_id", "first_name", "last_name", "phone", "jurisdiction_id",
               "attribute[severity]", "attribute[observed_at]", "attribute[external_id]", "attribute[x]"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_input_never_gives_a_500(c, w, keys, personas, fmt, kind):
    finding = inspection_finding(w, personas)
    value = HOSTILE[kind]
    paths = ["discovery", "services", "services/HJ-01", "requests", f"requests/{finding.pk}",
             f"tokens/{finding.uid}"]
    for path in paths:
        for name in GET_PARAMS:
            params = {"api_key": keys["a"], name: value}
            response = c.get(f"{BASE}/{path}.{fmt}", params)
            assert response.status_code < 500, (path, name, response.status_code)
            parse(response, fmt)
    for path_value in (value[:200], "🚧", "文明"):
        for template in ("services/{}", "requests/{}", "tokens/{}"):
            response = c.get(f"{BASE}/{template.format(path_value)}.{fmt}".replace("\x00", "%00"))
            assert response.status_code < 500
            parse(response, fmt)
    for name in POST_FIELDS:
        response = post(c, fmt, api_key=keys["a"], **{**near_a(), name: value})
        assert response.status_code < 500, (name, response.status_code, response.content[:300])
        parse(response, fmt)
    # Whatever was accepted is served back as valid XML and JSON.
    for fmt_out in FORMATS:
        rows_of(c.get(f"{BASE}/requests.{fmt_out}", {"api_key": keys["a"]}), fmt_out)


def test_stored_control_characters_do_not_break_the_xml(c, w, keys, personas):
    finding = inspection_finding(w, personas)
    Finding.objects.filter(pk=finding.pk).update(description="垃圾\x0b堆积\x01")
    (row,) = rows_of(c.get(f"{BASE}/requests.xml", {"api_key": keys["a"]}), "xml")
    assert row["description"] == "垃圾堆积"


def _make_findings(w, personas, count):
    for _ in range(count):
        inspection_finding(w, personas)


def test_request_list_query_count_is_flat(c, w, keys, personas):
    _make_findings(w, personas, 1)
    finding = Finding.objects.first()
    services.task_dispatch(actor=personas.supervisor, finding=finding)
    c.get(f"{BASE}/requests.json", {"api_key": keys["a"]})  # last-used time written once
    counts = {}
    for total in (1, 50):
        _make_findings(w, personas, total - Finding.objects.count())
        for fmt in FORMATS:
            with CaptureQueriesContext(connection) as ctx:
                response = c.get(f"{BASE}/requests.{fmt}", {"api_key": keys["a"]})
            assert len(rows_of(response, fmt)) == total
            counts[(total, fmt)] = len(ctx.captured_queries)
    assert counts[(1, "json")] == counts[(50, "json")] == counts[(1, "xml")] == counts[(50, "xml")]
    assert counts[(1, "json")] <= 5, counts


def test_request_list_is_capped_at_1000(c, w, keys, personas, monkeypatch):
    from open311 import views

    monkeypatch.setattr(views, "MAX_RESULTS", 3)
    _make_findings(w, personas, 5)
    assert len(c.get(f"{BASE}/requests.json", {"api_key": keys["a"]}).json()) == 3


def test_open311_stays_out_of_the_openapi_schema(db):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert not [path for path in schema["paths"] if "open311" in path]


def test_admin_lists_what_clients_sent(c, w, keys, personas, admin_client):
    post(c, "json", api_key=keys["a"], media_url="https://img.example.cn/3.jpg", account_id="acct-3", **near_a())
    response = admin_client.get("/admin/open311/servicerequestinfo/", {"q": "acct"})
    assert response.status_code == 200 and b"https://img.example.cn/3.jpg" in response.content
