"""Writes for notices: publish (receipts and inbox rows), mark read, reply.
Reminders are in ``reminders``."""

from __future__ import annotations

import os

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import Membership, Unit, User
from campaigns.scope import has_role, role_paths
from notifications.models import Event, Notification
from notifications.services import Text, notify

from .models import Notice, NoticeAttachment, NoticeReceipt, NoticeReply
from .reminders import notice_url
from .selectors import members_of, my_unit_ids

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
ALLOWED_EXTENSIONS = {
    ".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".wps", ".et", ".txt", ".csv", ".ofd",
    ".jpg", ".jpeg", ".png", ".zip", ".rar", ".7z",
}


def _check_files(files, field: str = "attachments") -> None:
    for upload in files:
        extension = os.path.splitext(upload.name or "")[1].lower()
        if extension not in ALLOWED_EXTENSIONS:
            raise ValidationError({field: _("Files of type %(ext)s cannot be attached.") % {"ext": extension or "—"}})
        if upload.size > MAX_ATTACHMENT_BYTES:
            raise ValidationError({field: _("An attachment is larger than 20 MB.")})


def _sender_unit(actor: User, target_root: Unit) -> Unit:
    """The actor's supervising unit that covers the target (the nearest one)."""
    if not has_role(actor, target_root, [Membership.Role.SUPERVISOR]):
        raise PermissionDenied(_("Only the campaign office (supervisors) over these units may send them a notice."))
    covering = [p for p in role_paths(actor, [Membership.Role.SUPERVISOR]) if target_root.path.startswith(p)]
    if not covering:  # a superuser without a role there
        return target_root
    return Unit.objects.get(path=max(covering, key=len))


def notice_publish(
    *, actor: User, title: str, target_root: Unit, body: str = "", kind: str = Notice.Kind.WORK,
    target_kinds: list[str] | None = None, pinned: bool = False, expires_at=None, reply_required: bool = False,
    reply_due_at=None, files=(),
) -> Notice:
    """Publish a notice to the active units of ``target_root``'s subtree (only
    ``target_kinds``, if given; never the sending unit itself). Each unit gets
    a read receipt and each of its people an inbox message."""
    now = timezone.now()
    sender = _sender_unit(actor, target_root)
    kinds = sorted(set(target_kinds or []))
    errors = {}
    if not title.strip():
        errors["title"] = _("The title is missing.")
    if any(k not in Unit.Kind.values for k in kinds):
        errors["target_kinds"] = _("Unknown unit kind.")
    if expires_at is not None and expires_at <= now:
        errors["expires_at"] = _("The expiry must lie in the future.")
    if reply_due_at is not None and not reply_required:
        reply_required = True
    if reply_due_at is not None and reply_due_at <= now:
        errors["reply_due_at"] = _("The reply date must lie in the future.")
    if errors:
        raise ValidationError(errors)
    files = list(files)
    _check_files(files)
    units = Unit.objects.subtree_of(target_root).filter(active=True).exclude(pk=sender.pk)
    if kinds:
        units = units.filter(kind__in=kinds)
    unit_ids = list(units.values_list("pk", flat=True))
    if not unit_ids:
        raise ValidationError({"target_kinds": _("No active unit matches these targets.")})
    notice = Notice(
        title=title.strip(), body=body.strip(), kind=kind, sender_unit=sender, target_root=target_root,
        target_kinds=kinds, pinned=pinned, expires_at=expires_at, reply_required=reply_required,
        reply_due_at=reply_due_at, created_by=actor, published_at=now,
    )
    notice.full_clean()
    notice._history_user = actor
    with transaction.atomic():
        notice.save()
        NoticeReceipt.objects.bulk_create([NoticeReceipt(notice=notice, unit_id=pk) for pk in unit_ids], batch_size=2000)
        for upload in files:
            NoticeAttachment.objects.create(notice=notice, file=upload, size=upload.size,
                                            original_name=os.path.basename(upload.name or "file")[:200])
        notify(
            event=Event.NOTICE_PUBLISHED, recipients=members_of(unit_ids).exclude(pk=actor.pk),
            title=Text(gettext_lazy("Notice from %(sender)s: %(title)s"), {"sender": sender.name, "title": notice.title}),
            body=Text(gettext_lazy("Reply required by %(date)s."),
                      {"date": timezone.localtime(reply_due_at).strftime("%Y-%m-%d %H:%M")}) if reply_due_at else None,
            url=notice_url(notice), target=notice, unit=target_root,
        )
    return notice


def notice_mark_read(*, user: User, notice: Notice) -> int:
    """The user opened the notice: their units' receipts become read (first
    reader wins), and their inbox messages about it are read. Returns how many
    receipts changed."""
    now = timezone.now()
    changed = NoticeReceipt.objects.filter(notice=notice, unit__in=my_unit_ids(user), read_at__isnull=True).update(
        read_at=now, read_by=user)
    Notification.objects.filter(recipient=user, target_id=notice.pk, read_at__isnull=True,
                                event__in=[Event.NOTICE_PUBLISHED, Event.NOTICE_REMINDER]).update(read_at=now)
    return changed


def notice_reply(*, actor: User, notice: Notice, text: str, file=None) -> NoticeReply:
    """A target unit answers a notice that asks for a reply (with an optional file)."""
    if not notice.reply_required:
        raise ValidationError(_("This notice does not ask for a reply."))
    receipt = NoticeReceipt.objects.filter(notice=notice, unit__in=my_unit_ids(actor)).select_related("unit").first()
    if receipt is None:
        raise PermissionDenied(_("Only the units the notice was sent to may reply."))
    if not text.strip():
        raise ValidationError({"text": _("Write the reply.")})
    if file is not None:
        _check_files([file], "file")
    now = timezone.now()
    with transaction.atomic():
        reply = NoticeReply.objects.create(
            notice=notice, unit=receipt.unit, author=actor, text=text.strip(), file=file or "",
            original_name=os.path.basename(file.name)[:200] if file is not None else "", created_at=now)
        NoticeReceipt.objects.filter(pk=receipt.pk).update(replied_at=now)
        notice_mark_read(user=actor, notice=notice)
    return reply


def notice_remind(*, actor: User, notice: Notice, expected: int | None = None):
    """Remind the units that have not read the notice (see ``reminders``)."""
    from .reminders import remind_unread

    if not has_role(actor, notice.sender_unit, [Membership.Role.SUPERVISOR]):
        raise PermissionDenied(_("Only the sending office may remind the units."))
    if notice.status != Notice.Status.PUBLISHED or notice.is_expired():
        raise ValidationError(_("This notice has expired or was withdrawn."))
    return remind_unread(actor=actor, notice=notice, expected=expected)
