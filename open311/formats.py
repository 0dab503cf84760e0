"""The two output formats of GeoReport v2 and its error format.

A response is a ``Doc``: a root element name and a body, either a list (a
JSON array; in XML the root holds one child element per item, named after
the root: ``services`` → ``service``) or a dict (a JSON object; XML child
elements in the same order). Values are str, int, float, bool, None, or
nested lists/dicts the same way. XML is built with ElementTree (the portal
never parses XML from clients)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from django.http import HttpResponse

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}

# The element name of one item of each list element.
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}

# Characters XML 1.0 cannot carry (stored text may contain them; they are dropped from XML output).
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass
class Doc:
    root: str
    body: list | dict
    status: int = 200
    headers: dict = field(default_factory=dict)


class Open311Error(Exception):
    """Answered as ``[{"code", "description"}]`` / ``<errors>`` with the HTTP status."""

    def __init__(self, status: int, description: str, *more: str, headers: dict | None = None):
        super().__init__(description)
        self.status = status
        self.descriptions = [str(description), *(str(m) for m in more)]
        self.headers = headers or {}

    def doc(self) -> Doc:
        return Doc("errors", [{"code": self.status, "description": d} for d in self.descriptions],
                   status=self.status, headers=self.headers)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_INVALID.sub("", str(value))


def _fill(element: ET.Element, value) -> None:
    if isinstance(value, dict):
        for name, child in value.items():
            _fill(ET.SubElement(element, name), child)
    elif isinstance(value, list):
        item_name = ITEM_NAMES[element.tag]
        for item in value:
            _fill(ET.SubElement(element, item_name), item)
    else:
        element.text = _text(value)


def to_xml(doc: Doc) -> bytes:
    root = ET.Element(doc.root)
    _fill(root, doc.body)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)


def to_json(doc: Doc) -> bytes:
    return json.dumps(doc.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def render(doc: Doc, fmt: str) -> HttpResponse:
    fmt = fmt if fmt in FORMATS else "json"
    content = to_xml(doc) if fmt == "xml" else to_json(doc)
    response = HttpResponse(content, status=doc.status, content_type=FORMATS[fmt])
    for name, value in doc.headers.items():
        response[name] = value
    return response


def error_response(status: int, description: str, fmt: str = "json", headers: dict | None = None) -> HttpResponse:
    return render(Open311Error(status, description, headers=headers).doc(), fmt)


def path_error(path: str, status: int, message: str) -> HttpResponse:
    """Errors under /open311/ answered outside its views (settings.PATH_ERROR_RESPONDERS)."""
    return error_response(status, message, format_of(path))


def format_of(path: str) -> str:
    """The format a URL asks for (``….xml`` → xml), JSON otherwise: for errors
    answered before the view (NUL bytes, unknown URLs)."""
    return "xml" if path.rstrip("/").lower().endswith(".xml") else "json"
