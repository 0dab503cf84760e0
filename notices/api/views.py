from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from .. import selectors, services
from ..filtersets import NoticeFilterSet
from .serializers import (
    NoticeCreateSerializer, NoticeDetailSerializer, NoticeSerializer, ReceiptSerializer, RemindResultSerializer,
    RemindSerializer, ReplySerializer,
)


@extend_schema(tags=["notices"])
class NoticeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                    viewsets.GenericViewSet):
    """Notices (通知公告) sent to the caller's units and those published by the
    units they supervise. Expired notices are left out unless ``expired=true``."""

    serializer_class = NoticeSerializer
    filterset_class = NoticeFilterSet
    ordering_fields = ["published_at", "title"]
    ordering = ["-pinned", "-published_at", "-id"]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    action_permissions = {
        "read": ["notices.view_notice"], "remind": ["notices.view_notice"], "receipts": ["notices.view_notice"],
        "reply": ["notices.view_notice"],
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            from ..models import Notice

            return Notice.objects.none()
        return selectors.notice_list(self.request.user)

    def get_serializer_class(self):
        return NoticeDetailSerializer if self.action == "retrieve" else NoticeSerializer

    def _sender_notice(self):
        notice = self.get_object()
        if not selectors.can_send_for(self.request.user, notice):
            raise NotFound()
        return notice

    @extend_schema(request={"application/json": NoticeCreateSerializer, "multipart/form-data": NoticeCreateSerializer},
                   responses={201: NoticeDetailSerializer})
    def create(self, request, *args, **kwargs):
        """Publish a notice to the active units below ``target_root`` (only ``target_kinds``, if given)."""
        serializer = NoticeCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        notice = services.notice_publish(actor=request.user, **serializer.validated_data)
        data = NoticeDetailSerializer(self.get_queryset().get(pk=notice.pk), context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: inline_serializer("NoticeReadResult", {"marked": serializers.IntegerField()})})
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        """Mark the notice read for the caller's units (what opening it on the page does)."""
        return Response({"marked": services.notice_mark_read(user=request.user, notice=self.get_object())})

    @extend_schema(request=RemindSerializer, responses={200: RemindResultSerializer})
    @action(detail=True, methods=["post"])
    def remind(self, request, pk=None):
        """Remind the units that have not read the notice (sending office only); 409 if this reminder was just sent."""
        notice = self._sender_notice()
        serializer = RemindSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        number, reminded = services.notice_remind(actor=request.user, notice=notice,
                                                  expected=serializer.validated_data["expected"])
        return Response({"number": number, "reminded_units": [r.unit.code for r in reminded]})

    @extend_schema(request=None, responses={200: ReceiptSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def receipts(self, request, pk=None):
        """The read matrix: one row per target unit (sending office only)."""
        rows = selectors.receipts(self._sender_notice())
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(ReceiptSerializer(page, many=True).data)

    @extend_schema(request={"multipart/form-data": ReplySerializer, "application/json": ReplySerializer},
                   responses={201: inline_serializer("NoticeReplyResult", {"id": serializers.IntegerField()})})
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        """Reply for the caller's unit, when the notice asks for one."""
        serializer = ReplySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reply = services.notice_reply(actor=request.user, notice=self.get_object(), **serializer.validated_data)
        return Response({"id": reply.pk}, status=status.HTTP_201_CREATED)
