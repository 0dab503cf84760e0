"""Open311 GeoReport v2 endpoints (plain Django views, outside the /api/v1
OpenAPI schema). Every answer is JSON or XML by the URL's extension; every
error is the spec's error list with the HTTP status (400 bad input, 403
missing/invalid/revoked/expired key or a place outside the key's area, 404
unknown request, service, token or format, 429 rate limit)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal, InvalidOperation
from functools import wraps
from types import SimpleNamespace

from django.conf import settings
from django.core.exceptions import (
    ObjectDoesNotExist, PermissionDenied, RequestDataTooBig, SuspiciousOperation, ValidationError,
)
from django.core.validators import EmailValidator, URLValidator
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from campaigns import api_keys
from campaigns.models import ApiClient
from civportal.errors import Conflict
from inspections.models import Finding, FindingCategory, RectificationTask, Severity
from inspections.selectors import open_task_prefetch

from . import services
from .formats import FORMATS, Doc, Open311Error, error_response, render

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
MAX_RESULTS = 1000
MAX_SPAN = dt.timedelta(days=90)
MAX_TEXT = 4000
# Control characters other than tab and line breaks are never valid input.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ID = re.compile(r"^[0-9]{1,18}$")
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]*)\](\[\])?$")

# Who may call what: "optional" (a key is checked if given) or "read" (a key or a
# signed-in session, unless OPEN311_PUBLIC_READ). Filing (POST) always needs an api_key.
OPTIONAL, READ = "optional", "read"


class Caller(SimpleNamespace):
    user = None  # None: anonymous (public reads only)
    client: ApiClient | None = None


# --- plumbing -------------------------------------------------------------------------------


def _param(request, name: str) -> str:
    """A parameter from the form body (POST) or the query string; "" when absent."""
    value = request.POST.get(name) if request.method == "POST" else None
    if value in (None, ""):
        value = request.GET.get(name, "")
    return value.strip()


def _check_characters(request) -> None:
    sources = [request.GET] + ([request.POST] if request.method == "POST" else [])
    for source in sources:
        for key, values in source.lists():
            if _CONTROL.search(key) or any(_CONTROL.search(v) for v in values):
                raise Open311Error(400, _("The request contains a control character (such as NUL), "
                                          "which is not allowed."))


def _check_jurisdiction(request) -> None:
    given = _param(request, "jurisdiction_id")
    if given and given.lower() != settings.OPEN311_JURISDICTION_ID.lower():
        raise Open311Error(404, _("Unknown jurisdiction_id: this endpoint serves “%(jurisdiction)s”.")
                           % {"jurisdiction": settings.OPEN311_JURISDICTION_ID})


def _authenticate(request, need: str) -> Caller:
    key = _param(request, "api_key")
    header = request.META.get("HTTP_AUTHORIZATION", "").split()
    if not key and len(header) == 2 and header[0].lower() == "api-key":
        key = header[1]
    if key:
        client = api_keys.lookup(key)
        if client is None or not client.user.is_active:
            raise Open311Error(403, _("Invalid api_key."))
        state = client.state(timezone.now())
        if state == "revoked":
            raise Open311Error(403, _("This api_key has been revoked."))
        if state == "expired":
            raise Open311Error(403, _("This api_key has expired."))
        api_keys.touch(client)
        return Caller(user=client.user, client=client)
    if request.method == "POST":
        raise Open311Error(403, _("An api_key is required to file service requests."))
    if request.user.is_authenticated and request.method == "GET":
        return Caller(user=request.user)
    if need == READ and not settings.OPEN311_PUBLIC_READ:
        raise Open311Error(403, _("An api_key (or a signed-in session) is required to read service requests."))
    return Caller()


def _throttle(request, caller: Caller) -> None:
    from campaigns.api.throttling import ClientRateThrottle

    throttle = ClientRateThrottle()
    shim = SimpleNamespace(auth=caller.client, user=caller.user or request.user, META=request.META,
                           headers=request.headers)
    if not throttle.allow_request(shim, None):
        wait = throttle.wait()
        seconds = max(1, int((wait or 1) + 0.999))
        from civportal.api.exceptions import throttled_message

        raise Open311Error(429, throttled_message(wait), headers={"Retry-After": str(seconds)})


def _language(request):
    wanted = request.GET.get("locale", "").strip().lower().replace("_", "-")
    codes = {code for code, _name in settings.LANGUAGES}
    if wanted in codes:
        return translation.override(wanted)
    if wanted in ("zh", "zh-cn"):
        return translation.override("zh-hans")
    return translation.override(translation.get_language())


def endpoint(methods: tuple[str, ...], need: str):
    """Format, language, method, input characters, jurisdiction, key, rate limit; errors in the spec's format."""

    def decorator(func):
        @csrf_exempt
        @wraps(func)
        def view(request, fmt: str, **kwargs):
            fmt = fmt.lower()
            with _language(request):
                if fmt not in FORMATS:
                    return error_response(404, _("Unknown format: use .json or .xml."), "json")
                try:
                    if request.method not in methods:
                        raise Open311Error(405, _("This endpoint does not take %(method)s requests.")
                                           % {"method": request.method[:20]}, headers={"Allow": ", ".join(methods)})
                    _check_characters(request)
                    _check_jurisdiction(request)
                    caller = _authenticate(request, need)
                    _throttle(request, caller)
                    doc = func(request, caller, **kwargs)
                except Open311Error as error:
                    doc = error.doc()
                except RequestDataTooBig:
                    doc = Open311Error(413, _("The request is too large.")).doc()
                except (SuspiciousOperation, UnicodeError):
                    doc = Open311Error(400, _("The request is malformed.")).doc()
                return render(doc, fmt)

        return view

    return decorator


# --- discovery and services -----------------------------------------------------------------


def _w3c(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return timezone.localtime(value).isoformat(timespec="seconds")


def _services():
    """Active categories that are not groups (no active subcategories), with their group."""
    rows = list(FindingCategory.objects.filter(active=True).select_related("group").order_by("sort_order", "code"))
    groups = {row.group_id for row in rows if row.group_id}
    return [row for row in rows if row.pk not in groups and (row.group is None or row.group.active)]


@endpoint(("GET",), OPTIONAL)
def discovery(request, caller):
    changeset = FindingCategory.objects.aggregate(last=Max("updated_at"))["last"]
    changeset = _w3c(changeset) or _w3c(timezone.now())
    base = settings.SITE_URL
    return Doc("discovery", {
        "changeset": changeset,
        "contact": _("Campaign office (创城办) of the city: ask its supervisors for help with this API. "
                     "Documentation: %(url)s") % {"url": f"{base}/api/v1/docs/"},
        "key_service": _("API keys are created by supervisors of the campaign office on the API keys page: "
                         "%(url)s") % {"url": f"{base}/api-clients/"},
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": f"{base}/open311/v2",
            "changeset": changeset,
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    })


def _keywords(category: FindingCategory) -> str:
    parts = [category.name, category.group.name if category.group else "", category.code]
    return ", ".join(p for p in parts if p)


@endpoint(("GET",), OPTIONAL)
def service_list(request, caller):
    return Doc("services", [{
        "service_code": category.code,
        "service_name": category.name,
        "description": _("%(name)s (%(group)s). Default severity: %(severity)s.") % {
            "name": category.name, "group": category.group.name if category.group else _("no group"),
            "severity": Severity(category.default_severity).label},
        "metadata": True,
        "type": "realtime",
        "keywords": _keywords(category),
        "group": category.group.name if category.group else "",
    } for category in _services()])


def _attributes(category: FindingCategory) -> list[dict]:
    return [
        {
            "variable": True, "code": "severity", "datatype": "singlevaluelist", "required": False,
            "datatype_description": _("One of the listed keys; the category's default when left out."),
            "order": 1,
            "description": _("How serious the problem is (default: %(severity)s).")
            % {"severity": Severity(category.default_severity).label},
            "values": [{"key": value, "name": str(label)} for value, label in Severity.choices],
        },
        {
            "variable": True, "code": "observed_at", "datatype": "datetime", "required": False,
            "datatype_description": _("W3C date and time with a time zone, e.g. 2026-03-01T08:00:00+08:00."),
            "order": 2,
            "description": _("When the problem was seen (default: when the request arrives)."),
            "values": [],
        },
        {
            "variable": True, "code": "external_id", "datatype": "string", "required": False,
            "datatype_description": _("Up to 100 characters."),
            "order": 3,
            "description": _("Your system's own case number. Filing the same number again returns the request "
                             "already filed instead of creating another one."),
            "values": [],
        },
    ]


ATTRIBUTE_CODES = {"severity", "observed_at", "external_id"}


def _service(code: str) -> FindingCategory:
    for category in _services():
        if category.code == code:
            return category
    raise Open311Error(404, _("Unknown service_code: %(code)s") % {"code": code[:100]})


@endpoint(("GET",), OPTIONAL)
def service_definition(request, caller, service_code: str):
    category = _service(service_code)
    return Doc("service_definition", {"service_code": category.code, "attributes": _attributes(category)})


# --- service requests -----------------------------------------------------------------------


def _requests(caller: Caller):
    qs = Finding.objects.all() if caller.user is None else Finding.objects.visible_to(caller.user)
    return (qs.select_related("category", "unit", "point", "open311")
            .prefetch_related(open_task_prefetch()).order_by("-observed_at", "-id"))


def _info(finding: Finding):
    try:
        return finding.open311
    except ObjectDoesNotExist:
        return None


def _status_notes(finding: Finding, task: RectificationTask | None) -> str:
    Status, TaskStatus = Finding.Status, RectificationTask.Status
    unit = task.unit.name if task is not None else finding.unit.name
    if finding.status == Status.NEW:
        return _("Received; awaiting triage by the campaign office.")
    if finding.status == Status.CLOSED:
        return _("Rectified; the fix was verified by the campaign office.")
    if finding.status == Status.DUPLICATE:
        return _("Duplicate of request %(id)s.") % {"id": finding.duplicate_of_id}
    if finding.status == Status.VOID:
        return _("Closed without action: not a valid problem.")
    notes = {
        TaskStatus.ASSIGNED: _("Dispatched to %(unit)s for rectification."),
        TaskStatus.IN_PROGRESS: _("%(unit)s is rectifying it."),
        TaskStatus.SUBMITTED: _("%(unit)s reported the fix; awaiting verification by the campaign office."),
        TaskStatus.RETURNED: _("The fix was not accepted; returned to %(unit)s for rework."),
    }
    note = notes.get(task.status if task is not None else "", _("Being rectified by %(unit)s."))
    return note % {"unit": unit}


def _row(finding: Finding) -> dict:
    tasks = getattr(finding, "task_list", None) or []
    task = tasks[0] if tasks else None
    info = _info(finding)
    updated = max([finding.updated_at] + [t.updated_at for t in tasks])
    if finding.status == Finding.Status.CLOSED and finding.closed_at:
        updated = finding.closed_at
    point = finding.point
    return {
        "service_request_id": str(finding.pk),
        "status": "open" if finding.status in Finding.OPEN_STATUSES else "closed",
        "status_notes": _status_notes(finding, task),
        "service_name": finding.category.name,
        "service_code": finding.category.code,
        "description": finding.description,
        "agency_responsible": task.unit.name if task is not None else finding.unit.name,
        "service_notice": _("The responsible unit fixes it by the deadline; the campaign office verifies the fix."),
        "requested_datetime": _w3c(finding.observed_at),
        "updated_datetime": _w3c(updated),
        "expected_datetime": _w3c(task.due_at) if task is not None and task.is_open else None,
        "address": finding.address or (point.address or point.name if point is not None else ""),
        "address_id": point.code or None if point is not None else None,
        "zipcode": None,
        "lat": float(finding.latitude) if finding.latitude is not None else None,
        "long": float(finding.longitude) if finding.longitude is not None else None,
        "media_url": info.media_url or None if info is not None else None,
    }


def _w3c_param(request, name: str) -> dt.datetime | None:
    raw = _param(request, name)
    return _parse_w3c(raw, name) if raw else None


def _parse_w3c(raw: str, name: str) -> dt.datetime:
    value = raw.replace(" ", "+") if "T" in raw else raw  # an unencoded "+08:00" arrives as " 08:00"
    parsed = None
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            parsed = dt.datetime.combine(day, dt.time.min) if day else None
        if parsed is not None and timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
    except (ValueError, OverflowError):
        parsed = None
    if parsed is None:
        raise Open311Error(400, _("%(name)s is not a valid date and time: use the W3C format, "
                                  "e.g. 2026-03-01T08:00:00+08:00.") % {"name": name})
    return parsed


def _list(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


@endpoint(("GET", "POST"), READ)
def requests_view(request, caller):
    if request.method == "POST":
        return _create(request, caller)
    qs = _requests(caller)
    ids = _list(_param(request, "service_request_id"))
    if ids:  # overrides every other filter
        if len(ids) > MAX_RESULTS or not all(_ID.match(i) for i in ids):
            raise Open311Error(400, _("service_request_id must be a comma-separated list of up to 1000 ids."))
        return Doc("service_requests", [_row(f) for f in qs.filter(pk__in=[int(i) for i in ids])])
    codes = _list(_param(request, "service_code"))
    if codes:
        known = set(FindingCategory.objects.filter(code__in=codes[:MAX_RESULTS]).values_list("code", flat=True))
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise Open311Error(400, _("Unknown service_code: %(code)s") % {"code": unknown[0][:100]})
        qs = qs.filter(category__code__in=codes)
    statuses = _list(_param(request, "status"))
    if statuses:
        if not set(statuses) <= {"open", "closed"}:
            raise Open311Error(400, _("status must be open, closed or both (comma-separated)."))
        if statuses.count("open") and not statuses.count("closed"):
            qs = qs.filter(status__in=Finding.OPEN_STATUSES)
        elif statuses.count("closed") and not statuses.count("open"):
            qs = qs.exclude(status__in=Finding.OPEN_STATUSES)
    start, end = _w3c_param(request, "start_date"), _w3c_param(request, "end_date")
    try:
        if start is None and end is None:
            end = timezone.now()
        if start is None:
            start = end - MAX_SPAN
        if end is None:
            end = start + MAX_SPAN
    except OverflowError:
        raise Open311Error(400, _("The dates are out of range.")) from None
    if start > end:
        raise Open311Error(400, _("start_date must be before end_date."))
    if end - start > MAX_SPAN:
        raise Open311Error(400, _("start_date and end_date may not be more than 90 days apart."))
    rows = qs.filter(observed_at__gte=start, observed_at__lte=end)[:MAX_RESULTS]
    return Doc("service_requests", [_row(f) for f in rows])


@endpoint(("GET",), READ)
def request_detail(request, caller, service_request_id: str):
    finding = None
    if _ID.match(service_request_id):
        finding = _requests(caller).filter(pk=int(service_request_id)).first()
    if finding is None:
        raise Open311Error(404, _("No service request with this id in your area."))
    return Doc("service_requests", [_row(finding)])


@endpoint(("GET",), READ)
def token_detail(request, caller, token: str):
    try:
        uid = uuid.UUID(token)
    except ValueError:
        uid = None
    qs = Finding.objects.all() if caller.user is None else Finding.objects.visible_to(caller.user)
    pk = qs.filter(uid=uid).values_list("pk", flat=True).first() if uid else None
    if pk is None:
        raise Open311Error(404, _("Unknown token."))
    return Doc("service_requests", [{"service_request_id": str(pk), "token": str(uid)}])


# --- filing a request -----------------------------------------------------------------------


def _text(request, name: str, limit: int) -> str:
    value = _param(request, name)
    if len(value) > limit:
        raise Open311Error(400, _("%(name)s is too long (at most %(limit)d characters).")
                           % {"name": name, "limit": limit})
    return value


def _coordinate(raw: str, name: str, bound: int) -> Decimal:
    try:
        value = Decimal(raw)
    except (InvalidOperation, ValueError):
        value = None
    if value is None or not value.is_finite() or not -bound <= value <= bound:
        raise Open311Error(400, _("%(name)s must be a number between -%(bound)d and %(bound)d (WGS84 degrees).")
                           % {"name": name, "bound": bound})
    return value.quantize(Decimal("0.000001"))


def _attributes_in(request, category: FindingCategory) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, items in request.POST.lists():
        match = _ATTRIBUTE.match(key)
        if match is None:
            continue
        code = match.group(1)
        if code not in ATTRIBUTE_CODES:
            raise Open311Error(400, _("Unknown attribute “%(code)s” for this service; see services/%(service)s.")
                               % {"code": code[:100], "service": category.code})
        if len(items) != 1:
            raise Open311Error(400, _("Attribute “%(code)s” takes one value.") % {"code": code})
        values[code] = items[0].strip()
    return values


def _create(request, caller: Caller) -> Doc:
    if caller.client is None:
        raise Open311Error(403, _("An api_key is required to file service requests."))
    code = _param(request, "service_code")
    if not code:
        raise Open311Error(400, _("service_code was not provided."))
    category = _service(code)
    attributes = _attributes_in(request, category)
    severity = attributes.get("severity") or None
    if severity is not None and severity not in Severity.values:
        raise Open311Error(400, _("Attribute severity must be one of: %(values)s.")
                           % {"values": ", ".join(Severity.values)})
    observed_at = None
    if attributes.get("observed_at"):
        observed_at = _parse_w3c(attributes["observed_at"], "observed_at")
        if observed_at > timezone.now() + dt.timedelta(minutes=5):
            raise Open311Error(400, _("Attribute observed_at lies in the future."))
    external_id = attributes.get("external_id") or None
    if external_id is not None and len(external_id) > 100:
        raise Open311Error(400, _("Attribute external_id is too long (at most 100 characters)."))

    lat_raw, long_raw = _param(request, "lat"), _param(request, "long")
    address = _text(request, "address_string", 300)
    address_id = _text(request, "address_id", 40)
    location = services.Location(address=address, point_code=address_id)
    if lat_raw or long_raw:
        if not (lat_raw and long_raw):
            raise Open311Error(400, _("Send both lat and long."))
        location.latitude = _coordinate(lat_raw, "lat", 90)
        location.longitude = _coordinate(long_raw, "long", 180)
    if location.latitude is None and not address and not address_id:
        raise Open311Error(400, _("A location is required: lat and long, address_string or address_id."))

    description = _text(request, "description", MAX_TEXT) or category.name
    first, last = _text(request, "first_name", 50), _text(request, "last_name", 50)
    if re.search(r"[\u3400-\u9fff]", first + last):
        name = f"{last}{first}"
    else:
        name = " ".join(part for part in (first, last) if part)
    email, phone = _text(request, "email", 254), _text(request, "phone", 30)
    if email:
        try:
            EmailValidator()(email)
        except ValidationError:
            raise Open311Error(400, _("email is not a valid e-mail address.")) from None
    media_url = _text(request, "media_url", 1000)
    if media_url:
        try:
            URLValidator(schemes=["http", "https"])(media_url)
        except ValidationError:
            raise Open311Error(400, _("media_url must be an http or https URL.")) from None
    info = {
        "media_url": media_url, "email": email, "phone": phone,
        "device_id": _text(request, "device_id", 100), "account_id": _text(request, "account_id", 100),
        "attributes": attributes,
    }
    try:
        finding, created = services.file_request(
            client=caller.client, category=category, description=description, location=location,
            severity=severity, observed_at=observed_at, external_id=external_id, reporter_name=name[:100],
            reporter_contact=" / ".join(p for p in (phone, email) if p)[:100], info=info,
        )
    except PermissionDenied as exc:
        raise Open311Error(403, str(exc) or _("Your API key's role may not file service requests here.")) from None
    except ValidationError as exc:
        raise Open311Error(400, *exc.messages) from None
    except Conflict as exc:
        raise Open311Error(400, exc.message) from None
    allowance = services.allowance_notice(finding)
    account_id = _info(finding).account_id if _info(finding) is not None else ""
    return Doc("service_requests", [{
        "service_request_id": str(finding.pk),
        "service_notice": allowance,
        "account_id": account_id or None,
    }], status=201 if created else 200)
