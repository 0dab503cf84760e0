from rest_framework import serializers

from campaigns.models import Unit

from ..models import Notice, NoticeAttachment, NoticeReceipt


class NoticeAttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = NoticeAttachment
        fields = ["id", "original_name", "size", "url"]

    def get_url(self, obj) -> str:
        from django.urls import reverse

        return reverse("notices:attachment_download", args=[obj.pk])


class NoticeSerializer(serializers.ModelSerializer):
    sender_unit_code = serializers.CharField(source="sender_unit.code", read_only=True)
    sender_unit_name = serializers.CharField(source="sender_unit.name", read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    addressed_to_me = serializers.BooleanField(read_only=True)
    is_read = serializers.BooleanField(read_only=True)
    receipt_count = serializers.IntegerField(read_only=True)
    read_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Notice
        fields = ["id", "title", "kind", "kind_display", "body", "sender_unit", "sender_unit_code", "sender_unit_name",
                  "target_root", "target_kinds", "status", "published_at", "pinned", "expires_at", "reply_required",
                  "reply_due_at", "reminders_sent", "addressed_to_me", "is_read", "receipt_count", "read_count"]
        read_only_fields = fields


class NoticeDetailSerializer(NoticeSerializer):
    attachments = NoticeAttachmentSerializer(many=True, read_only=True)

    class Meta(NoticeSerializer.Meta):
        fields = NoticeSerializer.Meta.fields + ["attachments"]
        read_only_fields = fields


class NoticeCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=Notice.Kind.choices, default=Notice.Kind.WORK)
    body = serializers.CharField(required=False, allow_blank=True, default="")
    target_root = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.none(),
                                                     help_text="The notice goes to the active units below this unit.")
    target_kinds = serializers.ListField(child=serializers.ChoiceField(choices=Unit.Kind.choices), required=False,
                                         default=list)
    pinned = serializers.BooleanField(required=False, default=False)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    reply_required = serializers.BooleanField(required=False, default=False)
    reply_due_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    files = serializers.ListField(child=serializers.FileField(), required=False, default=list,
                                  help_text="Attachments (multipart/form-data).")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["target_root"].queryset = Unit.objects.visible_to(request.user)


class ReceiptSerializer(serializers.ModelSerializer):
    unit_code = serializers.CharField(source="unit.code", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    read_by = serializers.CharField(source="read_by.username", read_only=True, allow_null=True, default=None)
    reminder_count = serializers.IntegerField(read_only=True)
    reply_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = NoticeReceipt
        fields = ["unit", "unit_code", "unit_name", "read_at", "read_by", "reminder_count", "reply_count", "replied_at"]
        read_only_fields = fields


class RemindSerializer(serializers.Serializer):
    expected = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False, allow_null=True, default=None,
                                        help_text="The number of reminders sent so far, as you saw it (guards "
                                                  "against sending the same reminder twice).")


class RemindResultSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    reminded_units = serializers.ListField(child=serializers.CharField())


class ReplySerializer(serializers.Serializer):
    text = serializers.CharField()
    file = serializers.FileField(required=False, allow_null=True, default=None)
