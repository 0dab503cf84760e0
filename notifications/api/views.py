from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from .. import services
from ..filtersets import NotificationFilterSet, WebhookDeliveryFilterSet
from ..models import Notification, WebhookDelivery, WebhookSubscription
from .serializers import (
    MarkAllReadResultSerializer, MarkReadSerializer, NotificationSerializer, WebhookDeliverySerializer,
    WebhookSubscriptionSerializer,
)


@extend_schema(tags=["notifications"])
class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's own in-app notifications, newest first. Anyone logged in has an inbox."""

    serializer_class = NotificationSerializer
    filterset_class = NotificationFilterSet
    permission_classes = [IsAuthenticated]
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return Notification.objects.for_user(self.request.user).select_related("target_type")

    @extend_schema(request=MarkReadSerializer, responses={200: NotificationSerializer})
    @action(detail=True, methods=["post"], url_path="mark-read")
    def mark_read(self, request, pk=None):
        serializer = MarkReadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        notification = services.notification_mark_read(actor=request.user, notification=self.get_object(),
                                                       read=serializer.validated_data["read"])
        return Response(NotificationSerializer(self.get_queryset().get(pk=notification.pk)).data)

    @extend_schema(request=None, responses={200: MarkAllReadResultSerializer})
    @action(detail=False, methods=["post"], url_path="mark-all-read")
    def mark_all_read(self, request):
        return Response({"updated": services.notifications_mark_all_read(actor=request.user)})


@extend_schema(tags=["notifications"])
class WebhookSubscriptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                                 mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """The caller's webhook subscriptions (campaign office). Deactivate instead of deleting."""

    serializer_class = WebhookSubscriptionSerializer
    ordering_fields = ["name", "created_at"]
    ordering = ["name", "id"]
    action_permissions = {"rotate_secret": ["notifications.change_webhooksubscription"]}

    def get_queryset(self):
        return WebhookSubscription.objects.for_user(self.request.user)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = services.webhook_subscription_save(actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(subscription).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        subscription = self.get_object()
        serializer = self.get_serializer(subscription, data=request.data, partial=kwargs.pop("partial", False))
        serializer.is_valid(raise_exception=True)
        data = {"name": subscription.name, "url": subscription.url, "events": subscription.events,
                "active": subscription.active, **serializer.validated_data}
        subscription = services.webhook_subscription_save(actor=request.user, subscription=subscription, **data)
        return Response(self.get_serializer(subscription).data)

    @extend_schema(request=None, responses={200: WebhookSubscriptionSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        subscription = services.webhook_subscription_rotate_secret(actor=request.user, subscription=self.get_object())
        return Response(self.get_serializer(subscription).data)


@extend_schema(tags=["notifications"])
class WebhookDeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The delivery log of the caller's webhook subscriptions."""

    serializer_class = WebhookDeliverySerializer
    filterset_class = WebhookDeliveryFilterSet
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return WebhookDelivery.objects.for_user(self.request.user)
