"""Staff account pages, the forced password change and the self-service
password reset. Views translate HTTP; the services decide."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required, permission_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from civportal.forms import add_service_errors, import_page
from civportal.pagination import paginate
from civportal.xlsx import xlsx_response

from ..forms import ImportForm
from ..models import ImportJob, Membership
from ..planning.background import job_page_starter
from . import imports, services
from .filtersets import AccountFilterSet
from .forms import AccountEditForm, AccountForm, RoleForm, StaffPasswordResetForm
from .selectors import manageable_users


def with_roles(queryset):
    return queryset.prefetch_related(Prefetch(
        "memberships", queryset=Membership.objects.filter(active=True).select_related("unit").order_by("unit__path", "role"),
        to_attr="active_roles",
    ))


def get_account(user, pk):
    """The permission-checked fetch: accounts outside the actor's management answer 404."""
    return get_object_or_404(with_roles(manageable_users(user)), pk=pk)


def _filtered(request):
    filterset = AccountFilterSet(request.GET or None, queryset=manageable_users(request.user), request=request)
    queryset = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset
    return filterset, queryset


@login_required
@permission_required("campaigns.view_user", raise_exception=True)
def account_list(request):
    filterset, queryset = _filtered(request)
    page = paginate(request, with_roles(queryset.order_by("username")))
    return render(request, "campaigns/account_list.html", {"filter": filterset, "page": page})


@login_required
@permission_required("campaigns.view_user", raise_exception=True)
def account_export(request):
    _filterset, queryset = _filtered(request)
    return xlsx_response(filename="accounts.xlsx", title=_("Staff accounts"), headers=imports.export_headers(),
                         rows=imports.export_rows(queryset), user=request.user)


@login_required
@permission_required("campaigns.view_user", raise_exception=True)
def account_detail(request, pk):
    account = get_account(request.user, pk)
    history = account.history.select_related("history_user").order_by("-history_date", "-history_id")[:50]
    return render(request, "campaigns/account_detail.html", {
        "account": account, "history": history, "role_form": RoleForm(user=request.user),
        "edit_form": AccountEditForm(initial={"display_name": account.display_name, "phone": account.phone,
                                              "email": account.email}),
    })


def _show_password(request, account, password, *, created: bool):
    response = render(request, "campaigns/account_password.html",
                      {"account": account, "password": password, "created": created})
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@login_required
@permission_required("campaigns.add_user", raise_exception=True)
def account_create(request):
    form = AccountForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            account, password = services.account_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error("role", str(exc))
        else:
            return _show_password(request, account, password, created=True)
    return render(request, "campaigns/simple_form.html", {
        "form": form, "title": _("New staff account"), "back": reverse("campaigns:account_list"),
    }, status=400 if form.errors else 200)


@login_required
@permission_required("campaigns.change_user", raise_exception=True)
def account_edit(request, pk):
    account = get_account(request.user, pk)
    form = AccountEditForm(request.POST or None, initial={
        "display_name": account.display_name, "phone": account.phone, "email": account.email})
    if request.method == "POST" and form.is_valid():
        try:
            services.account_update(actor=request.user, user=account, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Account saved."))
            return redirect("campaigns:account_detail", pk=account.pk)
    return render(request, "campaigns/simple_form.html", {
        "form": form, "title": _("Edit account %(username)s") % {"username": account.username},
        "back": reverse("campaigns:account_detail", args=[account.pk]),
    }, status=400 if form.errors else 200)


@login_required
@require_POST
@permission_required("campaigns.change_user", raise_exception=True)
def account_add_role(request, pk):
    account = get_account(request.user, pk)
    form = RoleForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            services.account_add_role(actor=request.user, user=account, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Role added."))
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("campaigns:account_detail", pk=account.pk)


@login_required
@require_POST
@permission_required("campaigns.change_user", raise_exception=True)
def account_set_active(request, pk):
    account = get_account(request.user, pk)
    active = request.POST.get("active") == "1"
    try:
        services.account_set_active(actor=request.user, user=account, active=active)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Account enabled.") if active else _("Account disabled."))
    return redirect("campaigns:account_detail", pk=account.pk)


@never_cache
@login_required
@require_POST
@permission_required("campaigns.change_user", raise_exception=True)
def account_reset_password(request, pk):
    account = get_account(request.user, pk)
    try:
        account, password = services.account_reset_password(actor=request.user, user=account)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("campaigns:account_detail", pk=account.pk)
    return _show_password(request, account, password, created=False)


@login_required
@permission_required("campaigns.add_user", raise_exception=True)
def account_import(request):
    return import_page(
        request, ImportForm(request.POST or None, request.FILES or None),
        lambda upload: imports.import_accounts(actor=request.user, upload=upload),
        template="campaigns/account_import.html", next_url="campaigns:account_list",
        background=job_page_starter(request, ImportJob.Kind.ACCOUNTS),
    )


# --- the person's own password -------------------------------------------------------------------


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change; choosing a new password ends a forced change."""

    def form_valid(self, form):
        response = super().form_valid(form)
        if self.request.user.must_change_password:
            services.account_password_changed(user=self.request.user, reason=_("password changed after a reset"))
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """"Forgot password": Django's e-mail reset flow, in the page's language,
    at most ``PASSWORD_RESET_PER_HOUR`` e-mails per address and per client
    address (ten times that per client address). The answer is the same whether the address is known or not."""

    form_class = StaffPasswordResetForm
    email_template_name = "registration/password_reset_email.txt"
    html_email_template_name = "registration/password_reset_email.html"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form):
        limit = settings.PASSWORD_RESET_PER_HOUR
        email = form.cleaned_data["email"].strip().lower()
        keys = [f"pwreset:email:{email}", f"pwreset:ip:{self.request.META.get('REMOTE_ADDR', '')}"]
        counts = []
        for key in keys:
            cache.add(key, 0, timeout=3600)
            try:
                counts.append(cache.incr(key))
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=3600)
                counts.append(1)
        if limit and (counts[0] > limit or counts[1] > 10 * limit):
            # Throttled: answer exactly as if the mail went out (no hint either way).
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        if form.user.must_change_password:
            services.account_password_changed(user=form.user, reason=_("password set by e-mail reset"))
        return response
