"""Input hygiene in one place: JSON bodies carrying text that cannot be
stored or echoed — a lone surrogate (``"\\ud800"``, not valid Unicode) or a
NUL character — are refused with the API's JSON 400 before any field sees
them (PostgreSQL refuses both, and an error message echoing a lone surrogate
cannot be encoded). Views that answer per item (bulk intake) set
``per_item_input = True`` and refuse such items one by one with
``invalid_text_path``. The renderer never fails on such text either."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

INVALID_TEXT = re.compile("[\x00\ud800-\udfff]")


def invalid_text_path(data, path: str = "") -> str | None:
    """Where in parsed JSON (``"items.3.description"``) the first invalid text is, or None."""
    if isinstance(data, str):
        return path or "non_field_errors" if INVALID_TEXT.search(data) else None
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and INVALID_TEXT.search(key):
                return path or "non_field_errors"
            found = invalid_text_path(value, here)
            if found:
                return found
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found = invalid_text_path(value, f"{path}.{index}" if path else str(index))
            if found:
                return found
    return None


def invalid_text_message() -> str:
    return _("The text contains a NUL character or invalid Unicode (a lone surrogate), which is not allowed.")


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        view = (parser_context or {}).get("view")
        if not getattr(view, "per_item_input", False):
            where = invalid_text_path(data)
            if where:
                field = INVALID_TEXT.sub("\ufffd", where.split(".", 1)[0])
                raise ValidationError({field: [invalid_text_message()]})
        return data


SURROGATE = re.compile("[\ud800-\udfff]")


def _clean(data):
    if isinstance(data, str):
        return SURROGATE.sub("\ufffd", data)
    if isinstance(data, dict):
        return {_clean(k): _clean(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_clean(v) for v in data]
    return data


class SafeJSONRenderer(JSONRenderer):
    """JSON that always encodes: a lone surrogate echoed in a message becomes U+FFFD instead of a 500."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            return super().render(_clean(data), accepted_media_type, renderer_context)
