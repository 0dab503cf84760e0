"""What an Open311 client sent with a service request beyond the finding
itself: the media URL (a reference, never fetched), the reporter's account
and device ids and contact, the attributes. One row per finding filed
through /open311/v2/requests; rows are never changed or deleted."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import ApiClient
from inspections.models import Finding


class ServiceRequestInfo(models.Model):
    finding = models.OneToOneField(
        Finding, on_delete=models.PROTECT, primary_key=True, related_name="open311", verbose_name=_("finding"),
    )
    client = models.ForeignKey(
        ApiClient, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("API client"),
    )
    media_url = models.URLField(_("media URL"), max_length=1000, blank=True,
                                help_text=_("A reference given by the client; the portal never downloads it."))
    email = models.CharField(_("e-mail"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    device_id = models.CharField(_("device id"), max_length=100, blank=True)
    account_id = models.CharField(_("account id"), max_length=100, blank=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    created_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("Open311 service request")
        verbose_name_plural = _("Open311 service requests")

    def __str__(self) -> str:
        return f"{self.finding_id}"
