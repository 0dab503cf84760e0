"""Pages: the inbox (everyone, their own notifications), email preferences,
and webhook subscriptions with their delivery log (the campaign office)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civportal.forms import add_service_errors
from civportal.pagination import paginate

from . import services
from .forms import PreferencesForm, WebhookSubscriptionForm
from .models import Notification, WebhookDelivery, WebhookSubscription


@login_required
def inbox(request):
    notifications = Notification.objects.for_user(request.user).only(
        "pk", "event", "title", "body", "message", "url", "created_at", "read_at")
    if request.GET.get("unread"):
        notifications = notifications.unread()
    return render(request, "notifications/inbox.html", {"page": paginate(request, notifications),
                                                        "only_unread": bool(request.GET.get("unread"))})


@login_required
def notification_open(request, pk: int):
    """Mark read and go to the object."""
    notification = get_object_or_404(Notification.objects.for_user(request.user), pk=pk)
    services.notification_mark_read(actor=request.user, notification=notification)
    target = notification.url if url_has_allowed_host_and_scheme(notification.url, allowed_hosts=None) else ""
    return redirect(target or "notifications:inbox")


@login_required
@require_POST
def notification_mark(request, pk: int):
    notification = get_object_or_404(Notification.objects.for_user(request.user), pk=pk)
    services.notification_mark_read(actor=request.user, notification=notification,
                                    read=request.POST.get("read", "1") != "0")
    return redirect(request.POST.get("next") if url_has_allowed_host_and_scheme(
        request.POST.get("next"), allowed_hosts={request.get_host()}) else "notifications:inbox")


@login_required
@require_POST
def notifications_mark_all(request):
    count = services.notifications_mark_all_read(actor=request.user)
    messages.success(request, _("%(count)s notifications marked as read.") % {"count": count})
    return redirect("notifications:inbox")


@login_required
def preferences(request):
    current = services.preferences_for(request.user)
    form = PreferencesForm(request.POST or None, current=current)
    if request.method == "POST" and form.is_valid():
        services.preferences_set(actor=request.user, email=form.cleaned_data)
        messages.success(request, _("Your notification preferences are saved."))
        return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {"form": form})


@permission_required("notifications.view_webhooksubscription", raise_exception=True)
def webhook_list(request):
    subscriptions = WebhookSubscription.objects.for_user(request.user).select_related("owner")
    return render(request, "notifications/webhook_list.html", {"page": paginate(request, subscriptions)})


@permission_required("notifications.add_webhooksubscription", raise_exception=True)
def webhook_form(request, pk: int | None = None):
    subscription = None
    if pk is not None:
        subscription = get_object_or_404(WebhookSubscription.objects.for_user(request.user), pk=pk)
    initial = ({"name": subscription.name, "url": subscription.url, "events": subscription.events,
                "active": subscription.active} if subscription else {"active": True})
    form = WebhookSubscriptionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            subscription = services.webhook_subscription_save(actor=request.user, subscription=subscription,
                                                              **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Webhook saved."))
            return redirect("notifications:webhook_detail", pk=subscription.pk)
    return render(request, "notifications/webhook_form.html", {"form": form, "subscription": subscription})


@permission_required("notifications.view_webhooksubscription", raise_exception=True)
def webhook_detail(request, pk: int):
    subscription = get_object_or_404(WebhookSubscription.objects.for_user(request.user), pk=pk)
    deliveries = WebhookDelivery.objects.filter(subscription=subscription).defer("payload")
    return render(request, "notifications/webhook_detail.html", {
        "subscription": subscription, "page": paginate(request, deliveries, default=20),
        "show_secret": request.GET.get("secret") == "1",
    })


@permission_required("notifications.change_webhooksubscription", raise_exception=True)
@require_POST
def webhook_rotate_secret(request, pk: int):
    subscription = get_object_or_404(WebhookSubscription.objects.for_user(request.user), pk=pk)
    services.webhook_subscription_rotate_secret(actor=request.user, subscription=subscription)
    messages.success(request, _("A new secret was generated; give it to the receiving system."))
    return redirect(reverse("notifications:webhook_detail", args=[subscription.pk]) + "?secret=1")
