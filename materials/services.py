"""Writes of materials review. Every transition is one service, used by the
pages and the API alike; stale or concurrent transitions raise Conflict
(claim-a-row: ``filter(status=old).update(...) == 1``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign, Indicator, Membership, Unit, User
from campaigns.scope import has_role, in_scope
from civportal.errors import Conflict, PermissionDenied, ValidationError

from .models import ArchiveJob, MaterialCall, MaterialEvent, MaterialFile, MaterialSubmission
from .uploads import MAX_FILES, check_upload

Role = Membership.Role
UNIT_ROLES = [Role.HANDLER, Role.HEAD]


def _require_supervisor_over(actor: User, units) -> None:
    if not all(has_role(actor, unit, [Role.SUPERVISOR]) for unit in units):
        raise PermissionDenied(_("Only the campaign office over these units may do this."))


def call_targets(*, units=(), kind: str = "", within: Unit | None = None) -> list[Unit]:
    """The units a call asks: the given ones, plus every active unit of ``kind`` under ``within``."""
    found = {u.pk: u for u in units}
    if kind:
        if kind not in Unit.Kind.values:
            raise ValidationError({"kind": _("Unknown unit kind.")})
        qs = Unit.objects.filter(kind=kind, active=True)
        if within is not None:
            qs = qs.filter(path__startswith=within.path)
        found.update({u.pk: u for u in qs})
    return sorted(found.values(), key=lambda u: u.path)


def material_call_create(*, actor: User, campaign: Campaign, indicator: Indicator, title: str, evidence: str,
                         deadline: dt.date, units=(), kind: str = "", within: Unit | None = None) -> MaterialCall:
    """Open a call for one indicator and create one (not yet submitted) answer per unit asked."""
    targets = call_targets(units=units, kind=kind, within=within)
    if not targets:
        raise ValidationError({"units": _("Name the units that must answer (or a kind of unit).")})
    _require_supervisor_over(actor, targets)
    if campaign.indicator_system_id is None or indicator.system_id != campaign.indicator_system_id:
        raise ValidationError({"indicator": _("The indicator is not in the campaign's edition.")})
    if not (evidence or "").strip():
        raise ValidationError({"evidence": _("Say what evidence is wanted.")})
    with transaction.atomic():
        if MaterialCall.objects.filter(campaign=campaign, indicator=indicator).exists():
            raise ValidationError({"indicator": _("This campaign already has a call for this indicator.")})
        call = MaterialCall(campaign=campaign, indicator=indicator, title=(title or indicator.name).strip()[:300],
                            evidence=evidence.strip(), deadline=deadline, created_by=actor)
        call.full_clean(validate_unique=False, validate_constraints=False)
        call._history_user = actor
        call.save()
        MaterialSubmission.objects.bulk_create([MaterialSubmission(call=call, unit=u) for u in targets])
    return call


def _acting_check(actor: User, submission: MaterialSubmission) -> None:
    if not has_role(actor, submission.unit, UNIT_ROLES):
        raise PermissionDenied(_("Only the clerks and heads of the unit asked may submit its materials."))


def material_submission_submit(*, actor: User, submission: MaterialSubmission, description: str,
                               files=()) -> MaterialSubmission:
    """A unit sends its evidence (first time, or again after a return). Every file
    is checked first: if one is refused, nothing is stored."""
    _acting_check(actor, submission)
    files = list(files)
    if not files:
        raise ValidationError({"files": _("Attach at least one evidence file.")})
    if len(files) > MAX_FILES:
        raise ValidationError({"files": _("At most %(n)d files at a time.") % {"n": MAX_FILES}})
    if submission.call.status != MaterialCall.Status.OPEN:
        raise Conflict(_("This call is closed."))
    errors = []
    checked = []
    for upload in files:
        try:
            checked.append((upload, check_upload(upload)))
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError({"files": errors})
    old = submission.status
    if old not in MaterialSubmission.OWED:
        raise Conflict(_("This submission is %(status)s and cannot be submitted again.")
                       % {"status": submission.get_status_display()})
    now = timezone.now()
    new_round = submission.round + 1
    with transaction.atomic():
        updated = MaterialSubmission.objects.filter(pk=submission.pk, status=old, round=submission.round).update(
            status=MaterialSubmission.Status.PENDING, description=(description or "").strip(), round=new_round,
            reworks=submission.reworks + (1 if old == MaterialSubmission.Status.RETURNED else 0),
            submitted_at=now, submitted_by=actor, share=None, updated_at=now,
        )
        if updated != 1:
            raise Conflict(_("Someone changed this submission meanwhile; reload and try again."))
        for upload, info in checked:
            MaterialFile.objects.create(submission=submission, round=new_round, file=upload,
                                        original_name=info.name, kind=info.kind, size=info.size, uploaded_by=actor)
        kind = MaterialEvent.Kind.RESUBMITTED if old == MaterialSubmission.Status.RETURNED else MaterialEvent.Kind.SUBMITTED
        MaterialEvent.objects.create(submission=submission, kind=kind, actor=actor, note=(description or "").strip())
    submission.refresh_from_db()
    return submission


def _parse_share(share) -> Decimal:
    try:
        value = Decimal(str(share))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationError({"share": _("Give the share as a number between 0 and 1.")})
    if not value.is_finite() or not Decimal("0") < value < Decimal("1"):
        raise ValidationError({"share": _("A partial pass earns a share above 0 and below 1.")})
    return value.quantize(Decimal("0.001"))


def _review(*, actor: User, submission: MaterialSubmission, status: str, kind: str, share, note: str):
    _require_supervisor_over(actor, [submission.unit])
    now = timezone.now()
    with transaction.atomic():
        updated = MaterialSubmission.objects.filter(
            pk=submission.pk, status=MaterialSubmission.Status.PENDING, round=submission.round,
        ).update(status=status, share=share, reason=note, reviewed_at=now, reviewed_by=actor, updated_at=now)
        if updated != 1:
            raise Conflict(_("This submission is no longer awaiting review (someone else reviewed it, or it "
                             "changed); reload to see its state."))
        MaterialEvent.objects.create(submission=submission, kind=kind, actor=actor, note=note, share=share)
    submission.refresh_from_db()
    return submission


def material_submission_review(*, actor: User, submission: MaterialSubmission, share=None,
                               note: str = "") -> MaterialSubmission:
    """Pass a submission (通过), or partly pass it with a share of the points (部分通过)."""
    S = MaterialSubmission.Status
    if share in (None, "", 1, "1"):
        return _review(actor=actor, submission=submission, status=S.PASSED, kind=MaterialEvent.Kind.PASSED,
                       share=Decimal(1), note=(note or "").strip())
    return _review(actor=actor, submission=submission, status=S.PARTIAL, kind=MaterialEvent.Kind.PARTIAL,
                   share=_parse_share(share), note=(note or "").strip())


def material_submission_return(*, actor: User, submission: MaterialSubmission, reason: str) -> MaterialSubmission:
    """Return a submission to its unit (退回) with the reason; the unit resubmits."""
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the materials are returned.")})
    return _review(actor=actor, submission=submission, status=MaterialSubmission.Status.RETURNED,
                   kind=MaterialEvent.Kind.RETURNED, share=None, note=reason.strip())


def archive_job_start(*, actor: User, campaign: Campaign, unit: Unit | None = None) -> ArchiveJob:
    """Record an archive build and queue it once committed. A broker outage
    leaves the job queued (and says so) rather than failing the request. Who
    may download the result is checked against the files inside it."""
    if unit is not None and not in_scope(actor, unit):
        raise PermissionDenied(_("This unit is outside your scope."))
    job = ArchiveJob.objects.create(campaign=campaign, unit=unit, created_by=actor)

    def _queue():
        from .tasks import build_archive

        try:
            build_archive.delay(job_id=job.pk)
        except Exception:  # noqa: BLE001 — the broker is down; the job row says so
            ArchiveJob.objects.filter(pk=job.pk, status=ArchiveJob.Status.QUEUED).update(
                message=_("The background worker could not be reached; start the archive again later."))

    transaction.on_commit(_queue)
    return job
