"""Notice pages: the list (received and sent), publishing, the notice itself
(opening it marks it read), replies, the sender's read matrix with "remind
the unread", attachment downloads through the scope check, exports."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civportal.errors import Conflict
from civportal.forms import add_service_errors
from civportal.pagination import paginate
from civportal.xlsx import xlsx_response

from . import selectors, services
from .filtersets import NoticeFilterSet
from .forms import NoticeForm, ReplyForm
from .models import Notice, NoticeAttachment, NoticeReply


def get_notice(user, pk) -> Notice:
    """The permission-checked fetch every notice view uses: 404 outside what the user sees."""
    return get_object_or_404(selectors.notice_list(user), pk=pk)


def _filtered(request):
    filterset = NoticeFilterSet(request.GET, queryset=selectors.notice_list(request.user), request=request)
    queryset = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    return filterset, queryset


@login_required
@permission_required("notices.view_notice", raise_exception=True)
def notice_list(request):
    filterset, queryset = _filtered(request)
    page = paginate(request, queryset)
    return render(request, "notices/notice_list.html", {"filter": filterset, "page": page, "now": timezone.now()})


@login_required
@permission_required("notices.view_notice", raise_exception=True)
def notice_export(request):
    _filterset, queryset = _filtered(request)
    rows = ([n.title, n.get_kind_display(), n.sender_unit.name, timezone.localtime(n.published_at).strftime("%Y-%m-%d %H:%M"),
             n.pinned, timezone.localtime(n.expires_at).strftime("%Y-%m-%d %H:%M") if n.expires_at else "",
             n.receipt_count, n.read_count] for n in queryset.iterator(chunk_size=500))
    headers = [_("Title"), _("Kind"), _("Sending unit"), _("Published at"), _("Pinned"), _("Expires at"),
               _("Units"), _("Units that have read it")]
    return xlsx_response(filename="notices.xlsx", title=_("Notices"), headers=headers, rows=rows, user=request.user)


@login_required
@permission_required("notices.add_notice", raise_exception=True)
def notice_create(request):
    form = NoticeForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            notice = services.notice_publish(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error("target_root", str(exc))
        else:
            messages.success(request, _("Notice published to %(count)d units.") % {"count": notice.receipts.count()})
            return redirect("notices:notice_detail", pk=notice.pk)
    return render(request, "notices/notice_form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@permission_required("notices.view_notice", raise_exception=True)
def notice_detail(request, pk):
    notice = get_notice(request.user, pk)
    if notice.addressed_to_me and not notice.is_read:
        services.notice_mark_read(user=request.user, notice=notice)
    sender_side = selectors.can_send_for(request.user, notice)
    replies = NoticeReply.objects.filter(notice=notice).select_related("unit", "author")
    if not sender_side:
        replies = replies.filter(unit__in=selectors.my_unit_ids(request.user))
    return render(request, "notices/notice_detail.html", {
        "notice": notice, "attachments": notice.attachments.all(), "replies": replies, "sender_side": sender_side,
        "reply_form": ReplyForm() if notice.reply_required and notice.addressed_to_me else None,
    })


@login_required
@require_POST
@permission_required("notices.view_notice", raise_exception=True)
def notice_reply(request, pk):
    notice = get_notice(request.user, pk)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.notice_reply(actor=request.user, notice=notice, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, _("Reply sent."))
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("notices:notice_detail", pk=notice.pk)


def _sender_notice(request, pk) -> Notice:
    notice = get_notice(request.user, pk)
    if not selectors.can_send_for(request.user, notice):
        raise Http404
    return notice


@login_required
@permission_required("notices.view_notice", raise_exception=True)
def notice_receipts(request, pk):
    notice = _sender_notice(request, pk)
    rows = selectors.receipts(notice)
    page = paginate(request, rows, default=100)
    return render(request, "notices/notice_receipts.html", {"notice": notice, "page": page})


@login_required
@permission_required("notices.view_notice", raise_exception=True)
def notice_receipts_export(request, pk):
    notice = _sender_notice(request, pk)

    def stamp(value):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""

    rows = ([r.unit.code, r.unit.name, r.unit.get_kind_display(), _("Read") if r.read_at else _("Unread"),
             stamp(r.read_at), str(r.read_by) if r.read_by else "", r.reminder_count, r.reply_count, stamp(r.replied_at)]
            for r in selectors.receipts(notice).iterator(chunk_size=1000))
    headers = [_("Unit code"), _("Unit"), _("Kind"), _("Status"), _("Read at"), _("Read by"), _("Reminders"),
               _("Replies"), _("Replied at")]
    return xlsx_response(filename=f"notice-{notice.pk}-receipts.xlsx", title=_("Read receipts"), headers=headers,
                         rows=rows, user=request.user)


@login_required
@require_POST
@permission_required("notices.view_notice", raise_exception=True)
def notice_remind(request, pk):
    notice = _sender_notice(request, pk)
    expected = request.POST.get("expected", "")
    try:
        number, reminded = services.notice_remind(
            actor=request.user, notice=notice, expected=int(expected) if expected.isdigit() else None)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Reminder %(number)d sent to %(count)d unit(s) that have not read the notice.")
                         % {"number": number, "count": len(reminded)})
    return redirect("notices:notice_receipts", pk=notice.pk)


@login_required
@permission_required("notices.view_notice", raise_exception=True)
def attachment_download(request, pk):
    """Attachments are served through the scope check, as downloads, never as public media URLs."""
    attachment = get_object_or_404(
        NoticeAttachment.objects.filter(notice__in=selectors.notice_list(request.user).values("pk")), pk=pk)
    return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.original_name)


@login_required
@permission_required("notices.view_notice", raise_exception=True)
def reply_download(request, pk):
    reply = get_object_or_404(NoticeReply.objects.select_related("notice__sender_unit").exclude(file=""), pk=pk)
    notice = get_notice(request.user, reply.notice_id)
    mine = reply.unit_id in set(selectors.my_unit_ids(request.user).values_list("unit_id", flat=True))
    if not (mine or selectors.can_send_for(request.user, notice)):
        raise Http404
    return FileResponse(reply.file.open("rb"), as_attachment=True, filename=reply.original_name or "file")


