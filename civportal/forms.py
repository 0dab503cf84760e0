"""Generic form pieces every app may use: widgets and the plumbing between a
form and a service (errors onto the form, one import page)."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from civportal.xlsx import ImportRejected


class DateTimeInput(forms.DateTimeInput):
    """A local date and time picker (``<input type="datetime-local">``)."""

    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def add_service_errors(form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form: known fields get their own
    message, everything else becomes a form-level error."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def save_with_service(request, form, save, *, denied_field: str | None = None):
    """On a valid POST call ``save()`` and return what it returns; a service's
    ValidationError goes onto the form, and PermissionDenied onto ``denied_field``
    when given (raised otherwise). None when nothing was saved."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        return save()
    except ValidationError as exc:
        add_service_errors(form, exc)
    except PermissionDenied as exc:
        if denied_field is None:
            raise
        form.add_error(denied_field, str(exc))
    return None


def import_summary(result) -> str:
    """The success message of an import whose result counts created, updated and unchanged rows."""
    return _("Import finished: %(created)d created, %(updated)d updated, %(unchanged)d unchanged.") % {
        "created": result.created, "updated": result.updated, "unchanged": result.unchanged}


def import_page(request, form, run, *, template: str, done=import_summary, next_url: str, background=None,
                context: dict | None = None):
    """The page of an xlsx import: on a valid POST ``run(upload)``; a rejected
    workbook lists its row errors, a service error goes onto the form (both 400);
    on success the message ``done(result)`` and a redirect to ``next_url``.
    A file larger than INLINE_IMPORT_BYTES goes to ``background(upload)`` (which
    starts a background job and returns the URL of its progress page) instead."""
    errors = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if background is not None and upload.size > settings.INLINE_IMPORT_BYTES:
            return redirect(background(upload))
        try:
            result = run(form.cleaned_data["file"])
        except ImportRejected as exc:
            errors = exc.errors
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, done(result))
            return redirect(next_url)
    status = 400 if errors or (request.method == "POST" and form.errors) else 200
    return render(request, template, {"form": form, "errors": errors, **(context or {})}, status=status)


class MultipleFileInput(forms.ClearableFileInput):
    """A file input that accepts several files (evidence, attachments)."""

    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several uploaded files, each cleaned like a single FileField; the value is a list."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


def form_error_lines(form) -> list[str]:
    """A form's errors as readable lines ("label: message"), for answers in JSON
    to scripts that show them outside the form (the offline outbox)."""
    lines = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields and form.fields[name].label else ""
        lines.extend(f"{label}: {error}" if label else str(error) for error in errors)
    return lines
