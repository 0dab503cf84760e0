"""Organisation pages: the unit tree, unit details with members, and the
supervisors' forms. Views translate input and output; services decide."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import JsonResponse
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from civportal.forms import add_service_errors, import_page
from civportal.pagination import paginate
from civportal.xlsx import xlsx_response

from . import boundaries, imports, selectors, services
from .filtersets import UnitFilterSet, unit_label
from .filtersets import ApiClientFilterSet
from .forms import ApiClientForm, BoundaryImportForm, ImportForm, MembershipForm, UnitForm, UnitMoveForm
from .models import ApiClient, ImportJob, Membership, Unit
from .planning.background import job_page_starter
from .scope import has_role


def get_unit(user, pk) -> Unit:
    """The permission-checked fetch every unit view uses: 404 outside the user's scope."""
    return get_object_or_404(Unit.objects.visible_to(user), pk=pk)


def can_supervise(user, unit) -> bool:
    return has_role(user, unit, [Membership.Role.SUPERVISOR])


@login_required
@permission_required("campaigns.view_unit", raise_exception=True)
def unit_list(request):
    filterset = UnitFilterSet(request.GET or None, queryset=Unit.objects.visible_to(request.user).defer("boundary").with_parent(), request=request)
    page = paginate(request, filterset.qs if filterset.is_bound else filterset.queryset)
    return render(request, "campaigns/unit_list.html", {"filter": filterset, "page": page})


@login_required
@never_cache
def unit_lookup(request):
    """Suggestions for a unit box (js/unit-picker.js): ``?q=`` a part of the name or the
    start of the code; only units in the user's scope, at most 20."""
    text = request.GET.get("q", "")[:100].replace("\x00", "")
    units = selectors.unit_lookup(request.user, text)
    return JsonResponse({"results": [
        {"id": u.pk, "code": u.code, "name": u.name, "kind": u.get_kind_display(), "parent": u.parent_name or "",
         "active": u.active, "value": unit_label(u)} for u in units]})


@login_required
@permission_required("campaigns.view_unit", raise_exception=True)
def unit_tree(request):
    root = None
    if request.GET.get("root"):
        root_id = request.GET["root"]
        if not (root_id.isascii() and root_id.isdigit()):
            return redirect("campaigns:unit_tree")
        root = get_unit(request.user, root_id)
    context = {
        "root": root,
        "ancestors": selectors.ancestors(root, request.user) if root else [],
        "units": selectors.tree_level(request.user, root),
    }
    return render(request, "campaigns/unit_tree.html", context)


@login_required
@permission_required("campaigns.view_unit", raise_exception=True)
def unit_detail(request, pk):
    unit = get_unit(request.user, pk)
    memberships = unit.memberships.select_related("user").order_by("-active", "role", "user__username")
    context = {
        "unit": unit,
        "ancestors": selectors.ancestors(unit, request.user),
        "children": selectors.tree_level(request.user, unit),
        "memberships": memberships,
        "can_supervise": can_supervise(request.user, unit),
        "membership_form": MembershipForm(),
    }
    return render(request, "campaigns/unit_detail.html", context)


@login_required
@permission_required("campaigns.add_unit", raise_exception=True)
def unit_create(request):
    parent = get_unit(request.user, request.GET["parent"]) if request.GET.get("parent", "").isascii() and request.GET.get("parent", "").isdigit() else None
    form = UnitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            unit = services.unit_create(actor=request.user, parent=parent, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Unit %(name)s created.") % {"name": unit.name})
            return redirect("campaigns:unit_detail", pk=unit.pk)
    return render(request, "campaigns/unit_form.html", {"form": form, "parent": parent})


@login_required
@permission_required("campaigns.change_unit", raise_exception=True)
def unit_edit(request, pk):
    unit = get_unit(request.user, pk)
    if not can_supervise(request.user, unit):
        raise PermissionDenied
    initial = {"name": unit.name, "code": unit.code, "kind": unit.kind, "population": unit.population}
    form = UnitForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.unit_update(actor=request.user, unit=unit, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Unit saved."))
            return redirect("campaigns:unit_detail", pk=unit.pk)
    return render(request, "campaigns/unit_form.html", {"form": form, "unit": unit})


@login_required
@permission_required("campaigns.change_unit", raise_exception=True)
def unit_move(request, pk):
    unit = get_unit(request.user, pk)
    if not can_supervise(request.user, unit):
        raise PermissionDenied
    form = UnitMoveForm(request.POST or None, user=request.user, unit=unit)
    if request.method == "POST" and form.is_valid():
        try:
            services.unit_move(actor=request.user, unit=unit, new_parent=form.cleaned_data["parent"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Unit moved with its subtree."))
            return redirect("campaigns:unit_detail", pk=unit.pk)
    return render(request, "campaigns/unit_move.html", {"form": form, "unit": unit})


@login_required
@require_POST
@permission_required("campaigns.change_unit", raise_exception=True)
def unit_set_active(request, pk):
    unit = get_unit(request.user, pk)
    active = request.POST.get("active") == "1"
    try:
        count = services.unit_set_active(actor=request.user, unit=unit, active=active)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if active:
            messages.success(request, _("Unit reactivated."))
        else:
            messages.success(request, _("%(count)d unit(s) deactivated.") % {"count": count})
    return redirect("campaigns:unit_detail", pk=unit.pk)


@login_required
@require_POST
@permission_required("campaigns.add_membership", raise_exception=True)
def membership_add(request, pk):
    unit = get_unit(request.user, pk)
    form = MembershipForm(request.POST)
    if form.is_valid():
        try:
            services.membership_create(
                actor=request.user, user=form.cleaned_data["user"], unit=unit,
                role=form.cleaned_data["role"], title=form.cleaned_data["title"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Member added."))
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("campaigns:unit_detail", pk=unit.pk)


@login_required
@require_POST
@permission_required("campaigns.change_membership", raise_exception=True)
def membership_end(request, pk):
    membership = get_object_or_404(Membership.objects.visible_to(request.user).select_related("unit", "user"), pk=pk)
    try:
        services.membership_end(actor=request.user, membership=membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Membership ended."))
    return redirect("campaigns:unit_detail", pk=membership.unit_id)


@login_required
@permission_required("campaigns.add_unit", raise_exception=True)
def unit_import(request):
    return import_page(
        request, ImportForm(request.POST or None, request.FILES or None),
        lambda upload: imports.import_units(actor=request.user, upload=upload),
        template="campaigns/unit_import.html", next_url="campaigns:unit_tree",
        background=job_page_starter(request, ImportJob.Kind.UNITS),
    )


@login_required
@permission_required("campaigns.change_unit", raise_exception=True)
def boundary_import(request):
    """Unit outlines for many units at once, from a GeoJSON FeatureCollection keyed by unit code."""
    if not request.scope.is_supervisor:
        raise PermissionDenied
    return import_page(
        request, BoundaryImportForm(request.POST or None, request.FILES or None),
        lambda upload: boundaries.import_boundaries(actor=request.user, upload=upload),
        template="campaigns/boundary_import.html", next_url="campaigns:unit_tree",
        done=lambda result: _("Boundaries imported: %(updated)d changed, %(unchanged)d unchanged.")
        % {"updated": result.updated, "unchanged": result.unchanged},
    )


@login_required
@permission_required("campaigns.view_unit", raise_exception=True)
def unit_export(request):
    filterset = UnitFilterSet(request.GET or None, queryset=Unit.objects.visible_to(request.user), request=request)
    queryset = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset
    return xlsx_response(
        filename="units.xlsx", title=_("units"), headers=imports.export_headers(),
        rows=imports.export_rows(queryset), user=request.user,
    )


# --- API clients (keys of external systems) ---------------------------------------------------


@login_required
@permission_required("campaigns.view_apiclient", raise_exception=True)
def api_client_list(request):
    queryset = ApiClient.objects.visible_to(request.user).select_related("unit", "created_by").order_by("-created_at", "-id")
    filterset = ApiClientFilterSet(request.GET or None, queryset=queryset, request=request)
    page = paginate(request, filterset.qs)
    return render(request, "campaigns/api_client_list.html", {"filter": filterset, "page": page})


@never_cache
@login_required
@permission_required("campaigns.add_apiclient", raise_exception=True)
def api_client_create(request):
    form = ApiClientForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            client, key = services.api_client_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            # The only time the key is ever shown: rendered, not redirected, never cached.
            return render(request, "campaigns/api_client_created.html", {"client": client, "key": key})
    return render(request, "campaigns/simple_form.html", {
        "form": form, "title": _("New API key"), "back": reverse("campaigns:api_client_list"),
    })


@login_required
@require_POST
@permission_required("campaigns.change_apiclient", raise_exception=True)
def api_client_revoke(request, pk):
    client = get_object_or_404(ApiClient.objects.visible_to(request.user).select_related("unit"), pk=pk)
    try:
        services.api_client_revoke(actor=request.user, client=client)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("API key %(name)s revoked.") % {"name": client.name})
    return redirect("campaigns:api_client_list")
