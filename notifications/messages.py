"""System texts stored as a message code and parameters, rendered in the
reader's language when read.

``notify`` is given translatable texts (``Text`` with a ``gettext_lazy``
message). Besides the text rendered in the recipient's language at the time
(kept in ``title``/``body`` for search, e-mail and as the fallback), the row
stores the message id and its parameters in ``Notification.message``; pages
and the API render that again in the language of whoever reads it. Lazy
parameters (choice labels such as a task's status) are stored by their
message id too. Free text written by people (a plain ``str``) is stored as
is. Rows written before the codes existed have no code: their stored text is
shown (the fallback)."""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext


def lazy_code(value) -> dict | None:
    """``{"msgid": …}`` (plus ``"context"``) for a gettext_lazy/pgettext_lazy string, else None."""
    if not isinstance(value, Promise):
        return None
    try:
        func, args = value.__reduce__()[1][:2]
    except (AttributeError, IndexError, TypeError, ValueError):
        return None
    name = getattr(func, "__name__", "")
    if name == "gettext" and len(args) == 1:
        return {"msgid": args[0]}
    if name == "pgettext" and len(args) == 2:
        return {"context": args[0], "msgid": args[1]}
    return None


def encode(message, params: dict | None) -> dict | None:
    """The stored form of a translatable message with parameters, or None if it is not translatable."""
    code = lazy_code(message)
    if code is None:
        return None
    stored: dict[str, Any] = {}
    for key, value in (params or {}).items():
        lazy = lazy_code(value)
        if lazy is not None:
            stored[key] = lazy
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            stored[key] = value
        else:
            stored[key] = str(value)
    return {**code, "params": stored}


def _translate(code: dict) -> str:
    if code.get("context"):
        return pgettext(code["context"], code["msgid"])
    return gettext(code["msgid"])


def render(stored: dict | None, fallback: str) -> str:
    """The stored message in the active language; ``fallback`` if there is none or it cannot be rendered."""
    if not stored or not stored.get("msgid"):
        return fallback
    try:
        params = {key: _translate(value) if isinstance(value, dict) else value
                  for key, value in (stored.get("params") or {}).items()}
        text = _translate(stored)
        return text % params if params else text
    except (KeyError, ValueError, TypeError):
        return fallback
