"""civportal/widget_renderer.py draws input and select widgets in Python: the
same bytes as Django's widget templates, for every filter form of the project
and for widgets built to reach every branch; a template whose source is not
the one it knows is left to Django."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect

import django_filters
import pytest
from django import forms
from django.apps import apps
from django.conf import settings
from django.forms.renderers import DjangoTemplates
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from civportal import widget_renderer
from civportal.widget_renderer import FastWidgetRenderer

from ..inspections.helpers import world

DJANGO, FAST = DjangoTemplates(), FastWidgetRenderer()


def both(widget, name, value, attrs=None):
    """The widget drawn by Django's templates and by the fast renderer."""
    return (widget.render(name, value, attrs=attrs, renderer=DJANGO),
            widget.render(name, value, attrs=attrs, renderer=FAST))


def filtersets():
    found = []
    for config in apps.get_app_configs():
        if not config.path.startswith(str(settings.BASE_DIR)):
            continue
        try:
            module = importlib.import_module(f"{config.name}.filtersets")
        except ModuleNotFoundError:
            continue
        found += [cls for cls in vars(module).values()
                  if inspect.isclass(cls) and issubclass(cls, django_filters.FilterSet)
                  and cls.__module__ == module.__name__ and cls._meta.model is not None]
    return found


def test_the_project_draws_forms_with_the_fast_renderer():
    assert settings.FORM_RENDERER == "civportal.widget_renderer.FastWidgetRenderer"
    assert isinstance(forms.Form().renderer, FastWidgetRenderer)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_filter_form_draws_the_same_bytes(city, personas, language, rf):
    world(city, personas)
    sets = filtersets()
    assert len(sets) >= 10, sets
    request = rf.get("/")
    request.user = personas.supervisor
    drawn = 0
    with translation.override(language):
        for cls in sets:
            for data in (None, {}, {"status": ["dispatched", "closed"], "q": '<b>"x" & \'y\'</b>', "category": "1",
                                   "campaign": "999", "date_from": "2026-01-02", "overdue": "true",
                                   "within": "C-A", "severity": "major", "active": "false", "light": ["red"]}):
                kwargs = {"request": request} if "request" in inspect.signature(cls.__init__).parameters else {}
                form = cls(data, **kwargs).form
                form.is_valid() if data is not None else None
                for name in form.fields:
                    bound = form[name]
                    attrs = bound.build_widget_attrs({"id": bound.auto_id} if bound.auto_id else {})
                    slow, fast = both(bound.field.widget, bound.html_name, bound.value(), attrs)
                    assert fast == slow, (cls.__name__, name, data)
                    drawn += 1
    assert drawn > 300


@pytest.mark.django_db
def test_widgets_built_to_reach_every_branch():
    choices = [
        ("", _("All")),
        (_("Group one"), [(1, "一"), (2, mark_safe("<b>two</b>")), ("3", 'a "quoted" <label> & more')]),
        (3.5, 1234567),
        ("x&y", dt.date(2026, 1, 2)),
        (_("Empty group"), []),
    ]
    cases = [
        (forms.Select(choices=choices), "s", "2"),
        (forms.Select(choices=choices, attrs={"class": "a<b", "required": True, "disabled": False,
                                              "data-x": mark_safe("&amp;"), "data-n": 0}), "s", "x&y"),
        (forms.SelectMultiple(choices=choices), "m", ["1", "3", "x&y"]),
        (forms.SelectMultiple(choices=choices), "m", None),
        (forms.NullBooleanSelect(), "b", True),
        (forms.TextInput(attrs={"placeholder": _("Search"), "maxlength": 100, "autofocus": True}), "t", '<"&>'),
        (forms.TextInput(), "t", None),
        (forms.TextInput(), "t", 0),
        (forms.NumberInput(attrs={"step": 0.5}), "n", 12345),
        (forms.DateInput(), "d", dt.date(2026, 12, 7)),
        (forms.HiddenInput(), "h", "v"),
        (forms.EmailInput(), "e", "a@b.c"),
        (forms.PasswordInput(), "p", "secret"),
        (forms.URLInput(), "u", "https://x.test/?a=1&b=2"),
    ]
    for language in ("zh-hans", "en"):
        with translation.override(language):
            for widget, name, value in cases:
                slow, fast = both(widget, name, value, {"id": f"id_{name}"})
                assert fast == slow, (widget, value)


def test_the_fast_path_is_taken_and_not_the_templates(monkeypatch):
    renderer = FastWidgetRenderer()
    forms.Select(choices=[("1", "a")]).render("s", "1", renderer=renderer)  # checks the sources once
    forms.TextInput().render("t", "x", renderer=renderer)
    assert renderer._checked and all(renderer._checked.values()), renderer._checked

    def no_template(*args, **kwargs):
        raise AssertionError("a template was rendered")

    monkeypatch.setattr(DjangoTemplates, "render", no_template)
    assert "<option" in forms.Select(choices=[("1", "a")]).render("s", "1", renderer=renderer)
    assert forms.DateInput().render("d", "2026-01-01", renderer=renderer).startswith('<input type="text"')


def test_a_template_with_another_source_is_left_to_django(monkeypatch):
    renderer = FastWidgetRenderer()
    original = renderer.get_template

    class Changed:
        def __init__(self, template):
            self.template = template

        def render(self, context=None, request=None):
            return "<changed>"

    def get_template(name):
        template = original(name)
        return Changed(template.template) if name == widget_renderer.OPTION else template

    monkeypatch.setattr(widget_renderer, "SOURCES", {**widget_renderer.SOURCES, widget_renderer.OPTION: "other"})
    monkeypatch.setattr(renderer, "get_template", get_template)
    html = forms.Select(choices=[("1", "a")]).render("s", "1", renderer=renderer)
    assert html == forms.Select(choices=[("1", "a")]).render("s", "1", renderer=DJANGO)
    assert renderer._checked[widget_renderer.OPTION] is False
    # Inputs do not read the option template: still drawn in Python.
    assert forms.TextInput().render("t", "x", renderer=renderer) == forms.TextInput().render("t", "x", renderer=DJANGO)
