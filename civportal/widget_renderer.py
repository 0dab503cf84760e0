"""A form renderer that writes Django's plain input and select widgets in Python.

Django draws every widget through its template engine: a select of 69
categories is 69 template includes of ``select_option.html``, each including
``attrs.html``. The filter forms of the list pages (19 fields on the findings
page, 17 on the tasks page) cost 15–35 ms per request that way, more than the
page's SQL. ``FastWidgetRenderer`` produces the same bytes as Django's
templates for ``input.html`` (and the one-line templates that include it:
text, number, date, …) and ``select.html`` with ``select_option.html``
options, and hands every other template to Django.

It takes a template over only while that template's source is the one written
here (Django's own, not overridden by an app, unchanged by an upgrade): each
is checked once, when the renderer first meets it; any other source is
rendered by Django's template as before. ``tests/civportal/test_widget_renderer.py``
compares both renderers on every filter form and on widgets built to reach
every branch (option groups, boolean and false attributes, safe and lazy
labels, numbers)."""

from __future__ import annotations

import html

from django.forms.renderers import DjangoTemplates
from django.template.base import render_value_in_context
from django.template.context import Context
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData

WIDGETS = "django/forms/widgets/"
INPUT, SELECT, OPTION, ATTRS = (WIDGETS + name for name in ("input.html", "select.html", "select_option.html",
                                                           "attrs.html"))

# The sources this module writes in Python (Django 5.2's), byte for byte.
SOURCES = {
    ATTRS: '{% for name, value in widget.attrs.items %}{% if value is not False %} {{ name }}{% if value is not True %}'
           '="{{ value|stringformat:\'s\' }}"{% endif %}{% endif %}{% endfor %}',
    INPUT: '<input type="{{ widget.type }}" name="{{ widget.name }}"{% if widget.value != None %} value="'
           '{{ widget.value|stringformat:\'s\' }}"{% endif %}{% include "django/forms/widgets/attrs.html" %}>\n',
    SELECT: '<select name="{{ widget.name }}"{% include "django/forms/widgets/attrs.html" %}>{% for group_name, '
            'group_choices, group_index in widget.optgroups %}{% if group_name %}\n  <optgroup label="'
            '{{ group_name }}">{% endif %}{% for option in group_choices %}\n  {% include option.template_name with '
            'widget=option %}{% endfor %}{% if group_name %}\n  </optgroup>{% endif %}{% endfor %}\n</select>\n',
    OPTION: '<option value="{{ widget.value|stringformat:\'s\' }}"{% include "django/forms/widgets/attrs.html" %}>'
            '{{ widget.label }}</option>\n',
}
# Templates that are the one line including input.html.
INPUT_ALIASES = ("text", "number", "date", "email", "url", "password", "hidden", "search", "tel", "time",
                 "datetime", "color")
INCLUDE_INPUT = '{% include "django/forms/widgets/input.html" %}\n'

_CONTEXT = Context()  # autoescape on, time zone and localisation by settings: what a widget template gets


def _text(value) -> str:
    """``{{ value }}``: localised (numbers, dates) and escaped unless safe."""
    if type(value) is str:  # most names and labels: nothing to localise, not safe
        return html.escape(value)
    return render_value_in_context(value, _CONTEXT)


def _stringformat(value) -> str:
    """``{{ value|stringformat:'s' }}``: str(), escaped unless the value was safe."""
    if type(value) is str:
        return html.escape(value)
    if isinstance(value, SafeData):
        return str(value)
    try:
        text = "%s" % (str(value) if isinstance(value, tuple) else value)
    except (ValueError, TypeError):
        text = ""
    return conditional_escape(text)


def _attrs(attrs: dict) -> str:
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        parts.append(f" {_text(name)}" if value is True else f' {_text(name)}="{_stringformat(value)}"')
    return "".join(parts)


def _input(widget: dict) -> str:
    value = "" if widget["value"] is None else f' value="{_stringformat(widget["value"])}"'
    return f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{value}{_attrs(widget["attrs"])}>'


def _select(widget: dict) -> str | None:
    out = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            out.append(f'\n  <optgroup label="{_text(group_name)}">')
        for option in group_choices:
            if option.get("template_name") != OPTION:
                return None  # an option drawn by another template: Django's way
            out.append(f'\n  <option value="{_stringformat(option["value"])}"{_attrs(option["attrs"])}>'
                       f'{_text(option["label"])}</option>\n')
        if group_name:
            out.append("\n  </optgroup>")
    out.append("\n</select>")
    return "".join(out)


class FastWidgetRenderer(DjangoTemplates):
    """Django's ``DjangoTemplates`` form renderer, with input and select widgets written in Python."""

    def __init__(self):
        super().__init__()
        self._checked: dict[str, bool] = {}

    def _same_source(self, name: str, expected: str) -> bool:
        known = self._checked.get(name)
        if known is None:
            try:
                source = self.get_template(name).template.source
            except Exception:  # noqa: BLE001 - missing or broken: leave it to Django
                source = None
            known = self._checked[name] = source == expected
        return known

    def _fast(self, template_name: str):
        if template_name == SELECT:
            ok = all(self._same_source(name, SOURCES[name]) for name in (SELECT, OPTION, ATTRS))
            return _select if ok else None
        if template_name == INPUT or template_name in _ALIASES:
            ok = all(self._same_source(name, SOURCES[name]) for name in (INPUT, ATTRS))
            if template_name != INPUT:
                ok = ok and self._same_source(template_name, INCLUDE_INPUT)
            return _input if ok else None
        return None

    def render(self, template_name, context, request=None):
        fast = self._fast(template_name)
        if fast is not None and request is None:
            html = fast(context["widget"])
            if html is not None:
                return html
        return super().render(template_name, context, request=request)


_ALIASES = frozenset(f"{WIDGETS}{name}.html" for name in INPUT_ALIASES)
