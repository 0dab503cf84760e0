"""Writes for the monthly index: scheme versions, entered scores,
adjustments, computing a month's draft and publishing it.

A month is locked through its ScoreMonth row (``select_for_update``): two
recomputations of the same month queue on it, and the second finds the same
inputs and writes the same rows (an upsert on campaign × unit × month).
A published month refuses every change."""

from __future__ import annotations

import datetime as dt
import json
import logging
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign, Membership, Unit, User
from campaigns.scope import has_role
from civportal.errors import Conflict

from . import compute, hooks
from .models import (
    AccountabilityRecord, Appeal, AppealAttachment, Exposure, MaterialsScore, MonthlyScore, ScoreAdjustment,
    ScoreMonth, ScoringScheme, SurveyScore, month_start, q2,
)

logger = logging.getLogger(__name__)
Role = Membership.Role
ENTRY_MODELS = {"survey": SurveyScore, "materials": MaterialsScore}
SCORE_FIELDS = [
    "field_score", "rectification_score", "survey_score", "materials_score", "survey_from_subtree",
    "materials_from_subtree", "base_score", "bonus", "penalty", "total", "grade", "rank", "ranked_count", "list_flag",
    "visit_count", "clean_visit_count", "finding_count", "severe_finding_count", "repeat_finding_count",
    "deduction_total", "task_count", "task_on_time_count", "task_late_count", "task_open_count", "rework_count",
    "breakdown",
]


def is_city_supervisor(user: User | None) -> bool:
    """Supervisors of a root unit (the city's campaign office) compute and publish rankings."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    from campaigns.scope import role_paths

    return any(len(path) == Unit.steplen for path in role_paths(user, [Role.SUPERVISOR]))


def _require_city_office(actor: User | None) -> None:
    if actor is not None and not is_city_supervisor(actor):
        raise PermissionDenied(_("Only the city campaign office (supervisors) may do this."))


def _require_supervisor_over(actor: User, unit: Unit) -> None:
    if not has_role(actor, unit, [Role.SUPERVISOR]):
        raise PermissionDenied(_("Only the campaign office (supervisors) over this unit may do this."))


def _check_month(campaign: Campaign, month: dt.date) -> dt.date:
    month = month_start(month)
    if month > campaign.ends_on or month_start(campaign.starts_on) > month:
        raise ValidationError({"month": _("%(month)s is outside the campaign's period.") % {"month": f"{month:%Y-%m}"}})
    return month


def _refuse_if_published(campaign: Campaign, month: dt.date) -> None:
    published = ScoreMonth.objects.published().filter(campaign=campaign, month=month).first()
    if published is not None:
        raise Conflict(_("The scores of %(month)s were published on %(date)s and are frozen.") % {
            "month": f"{month:%Y-%m}", "date": f"{timezone.localtime(published.published_at):%Y-%m-%d %H:%M}"})


# --- the scheme -------------------------------------------------------------------------------


def scheme_current() -> ScoringScheme:
    """The newest scheme version (version 1 with the defaults if none exists yet)."""
    scheme = ScoringScheme.objects.current()
    if scheme is None:
        ScoringScheme.objects.bulk_create([ScoringScheme(version=1, **ScoringScheme.defaults())],
                                          ignore_conflicts=True)
        scheme = ScoringScheme.objects.current()
    return scheme


def scheme_create(*, actor: User, name: str, weights: dict, severity_factors: dict, repeat_window_days: int,
                  repeat_factor: Decimal, list_share: Decimal, red_min_total: Decimal, black_below_total: Decimal,
                  black_bottom_min_group: int, grade_bands: list, ranked_kinds: list, notes: str = "",
                  bottom_list_ceiling: Decimal = Decimal(90), appeal_window_days: int = 3,
                  field_mode: str = ScoringScheme.FieldMode.DEDUCTION) -> ScoringScheme:
    """Save a changed scheme as the next version; months already published keep theirs."""
    _require_city_office(actor)
    with transaction.atomic():
        latest = ScoringScheme.objects.select_for_update().order_by("-version").first()
        scheme = ScoringScheme(
            version=(latest.version if latest else 0) + 1, name=name.strip(), weights=weights,
            severity_factors=severity_factors, repeat_window_days=repeat_window_days, repeat_factor=repeat_factor,
            list_share=list_share, red_min_total=red_min_total, black_below_total=black_below_total,
            black_bottom_min_group=black_bottom_min_group, grade_bands=grade_bands, ranked_kinds=ranked_kinds,
            bottom_list_ceiling=bottom_list_ceiling, appeal_window_days=appeal_window_days,
            notes=notes.strip(), created_by=actor, field_mode=field_mode,
        )
        scheme.full_clean()
        scheme._history_user = actor
        scheme.save()
    return scheme


# --- entered scores and adjustments -----------------------------------------------------------


def entered_score_set(*, actor: User, kind: str, campaign: Campaign, unit: Unit, month: dt.date, score: Decimal,
                      note: str = "") -> SurveyScore | MaterialsScore:
    """Enter (or correct) a unit's survey or materials score for a month."""
    model = ENTRY_MODELS[kind]
    _require_supervisor_over(actor, unit)
    month = _check_month(campaign, month)
    _refuse_if_published(campaign, month)
    from .compute import DERIVED

    if not (note or "").strip() and unit.path in DERIVED[kind](campaign, month):
        raise ValidationError({"note": _("This score is computed by the portal; give the reason for overriding it.")})
    entry = model.objects.filter(campaign=campaign, unit=unit, month=month).first() or model(
        campaign=campaign, unit=unit, month=month)
    entry.score, entry.note, entry.entered_by = score, (note or "").strip()[:300], actor
    entry.full_clean(validate_unique=False, validate_constraints=False)
    if not Decimal(0) <= entry.score <= Decimal(100):
        raise ValidationError({"score": _("A score lies between 0 and 100.")})
    entry._history_user = actor
    entry.save()
    return entry


IMPORT_CHUNK = 2000  # rows checked per unit lookup when a score sheet streams


def entered_scores_import(*, actor: User, kind: str, campaign: Campaign, month: dt.date, upload, progress=None):
    """Import survey or materials scores from xlsx (unit code, score, note).
    Every row is checked first; one bad row and nothing is imported.
    ``progress(done, total)`` (a background job's) hears every 500 checked rows."""
    from civportal.xlsx import (
        ImportRejected, ImportResult, RowError, chunked, iter_table, normalize_text, parse_number,
    )

    model = ENTRY_MODELS[kind]
    month = _check_month(campaign, month)
    _refuse_if_published(campaign, month)
    # The sheet streams: rows are checked a chunk at a time (one unit query per chunk
    # of new codes) and only the good ones are kept, so a 100k-row junk sheet holds its
    # errors, never the whole sheet.
    size = [0]
    rows = iter_table(upload, columns={
        "code": ("单位编码", "编码", "code", "unit code"),
        "name": ("单位名称", "名称", "name", "unit"),
        "score": ("得分", "分数", "score"),
        "note": ("备注", "说明", "note"),
    }, required=["code", "score"], sized=lambda rows: size.__setitem__(0, rows))
    units: dict[str, Unit] = {}
    looked_up: set[str] = set()
    errors, seen, clean_rows = [], set(), []
    done = 0
    for chunk in chunked(rows, IMPORT_CHUNK):
        codes = {normalize_text(v["code"]) for _n, v in chunk} - looked_up
        if codes:
            units.update((u.code, u) for u in Unit.objects.filter(code__in=codes))
            looked_up |= codes
        for number, values in chunk:
            done += 1
            if progress is not None and done % 500 == 0:
                progress(done, max(size[0], done) * 2)  # checking, then writing
            code = normalize_text(values["code"])
            unit = units.get(code)
            if unit is None:
                errors.append(RowError(number, "code", _("No unit with code “%(code)s”.") % {"code": code}))
                continue
            if not has_role(actor, unit, [Role.SUPERVISOR]):
                errors.append(RowError(number, "code", _("You are not a supervisor over “%(unit)s”.") % {"unit": unit}))
                continue
            if code in seen:
                errors.append(RowError(number, "code", _("“%(code)s” appears twice.") % {"code": code}))
                continue
            seen.add(code)
            try:
                score = parse_number(values["score"], allow_suffix=("分",))
            except (ValueError, InvalidOperation, TypeError):
                errors.append(RowError(number, "score", _("Not a number.")))
                continue
            if not Decimal(0) <= score <= Decimal(100) or score != score.quantize(Decimal("0.01")):
                errors.append(RowError(number, "score", _("A score lies between 0 and 100 with at most two decimals.")))
                continue
            clean_rows.append((unit, score, normalize_text(values.get("note"))[:300]))
    total = done * 2
    if errors:
        raise ImportRejected(errors)
    created = updated = 0
    with transaction.atomic():
        existing = {e.unit_id: e for e in model.objects.select_for_update().filter(
            campaign=campaign, month=month, unit__in=[u for u, _s, _n in clean_rows])}
        for unit, score, note in clean_rows:
            entry = existing.get(unit.pk) or model(campaign=campaign, unit=unit, month=month)
            created += entry.pk is None
            updated += entry.pk is not None
            entry.score, entry.note, entry.entered_by = score, note, actor
            entry._history_user = actor
            entry.save()
    if progress is not None:
        progress(total, total)
    return ImportResult(created=created, updated=updated)


def entered_scores_import_start(*, actor: User, kind: str, campaign: Campaign, month: dt.date, upload):
    """A large score sheet: the month is checked now (outside the campaign, or
    published: refused at once), the rows by a background import job
    (``campaigns.ImportJob``) that runs ``entered_scores_import_job``."""
    from campaigns.models import ImportJob
    from campaigns.planning.background import import_job_start

    ENTRY_MODELS[kind]  # noqa: B018 — an unknown kind fails here, as inline
    month = _check_month(campaign, month)
    _refuse_if_published(campaign, month)
    return import_job_start(actor=actor, kind=ImportJob.Kind.SCORE_ENTRIES, upload=upload,
                            params={"kind": kind, "campaign": campaign.pk, "month": month.isoformat()})


def entered_scores_import_job(*, actor: User, upload, params: dict, progress):
    """The background runner of a score sheet (registered in ScoresConfig.ready)."""
    campaign = Campaign.objects.get(pk=params["campaign"])
    return entered_scores_import(actor=actor, kind=params["kind"], campaign=campaign,
                                 month=dt.date.fromisoformat(params["month"]), upload=upload, progress=progress)


def adjustment_add(*, actor: User, campaign: Campaign, unit: Unit, month: dt.date, kind: str, points: Decimal,
                   reason: str) -> ScoreAdjustment:
    _require_supervisor_over(actor, unit)
    month = _check_month(campaign, month)
    _refuse_if_published(campaign, month)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Please give a reason.")})
    adjustment = ScoreAdjustment(campaign=campaign, unit=unit, month=month, kind=kind, points=points,
                                 reason=reason[:300], created_by=actor)
    adjustment.full_clean()
    adjustment._history_user = actor
    adjustment.save()
    return adjustment


def adjustment_withdraw(*, actor: User, adjustment: ScoreAdjustment, reason: str) -> ScoreAdjustment:
    _require_supervisor_over(actor, adjustment.unit)
    _refuse_if_published(adjustment.campaign, adjustment.month)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Please give a reason.")})
    with transaction.atomic():
        locked = ScoreAdjustment.objects.select_for_update().get(pk=adjustment.pk)
        if locked.withdrawn_at is not None:
            raise Conflict(_("This adjustment was already withdrawn."))
        locked.withdrawn_at, locked.withdrawn_by, locked.withdraw_reason = timezone.now(), actor, reason[:300]
        locked._history_user = actor
        locked.save()
    return locked


# --- computing and publishing -----------------------------------------------------------------


def _lock_month(campaign: Campaign, month: dt.date) -> ScoreMonth:
    """Create the month's row if missing and lock it (the second caller waits here)."""
    ScoreMonth.objects.bulk_create([ScoreMonth(campaign=campaign, month=month)], ignore_conflicts=True)
    return ScoreMonth.objects.select_for_update().get(campaign=campaign, month=month)


def scores_recompute(*, actor: User | None, campaign: Campaign, month: dt.date) -> ScoreMonth:
    """Compute (or compute again) the month's draft with the current scheme.
    ``actor=None`` is the monthly job. A published month is refused and
    nothing changes."""
    _require_city_office(actor)
    month = _check_month(campaign, month)
    with transaction.atomic(), compute.no_gc():  # the computation and the upsert allocate, acyclically
        score_month = _lock_month(campaign, month)
        if score_month.is_published:
            raise Conflict(_("The scores of %(month)s were published on %(date)s and are frozen.") % {
                "month": f"{month:%Y-%m}",
                "date": f"{timezone.localtime(score_month.published_at):%Y-%m-%d %H:%M}"})
        scheme = scheme_current()
        results = compute.compute(campaign, month, scheme)
        fixed = {"campaign_id": campaign.pk, "month": month, "score_month_id": score_month.pk,
                 "scheme_id": scheme.pk, "status": ScoreMonth.Status.DRAFT}
        # Units no longer ranked (deactivated, kind no longer ranked) leave the draft.
        gone = _upsert_scores(fixed, results, ["score_month", "scheme", "kind", "status", *SCORE_FIELDS])
        if gone:
            MonthlyScore.objects.filter(pk__in=gone).delete()
        score_month.scheme, score_month.computed_at, score_month.computed_by = scheme, timezone.now(), actor
        score_month._history_user = actor
        score_month.save()
    logger.info("scores computed campaign=%s month=%s units=%d", campaign.pk, f"{month:%Y-%m}", len(results))
    return score_month


def _upsert_scores(fixed: dict, results: list, update_fields: list[str]) -> list[int]:
    """Insert or update the month's rows: ``fixed`` (attname → value: campaign, month, status, …)
    for every row, then each result's unit, kind and values. Returns the ids of the rows of the
    same campaign, month and status whose unit has no result (the caller removes them). On
    PostgreSQL: the rows go straight from the results into a COPY to a temporary table (no model
    instances, the breakdown as compact JSON, or as the computation wrote it), then one statement
    ``INSERT … SELECT … ON CONFLICT DO UPDATE`` that also reads those ids (from the rows as they
    were before it); elsewhere Django's upsert and a read of the ids."""
    if connection.vendor != "postgresql":
        rows = [MonthlyScore(unit_id=r.unit_id, kind=r.kind, **fixed, **r.values) for r in results]
        MonthlyScore.objects.bulk_create(rows, batch_size=1000, update_conflicts=True,
                                         unique_fields=["campaign", "unit", "month"], update_fields=update_fields)
        scored = {r.unit_id for r in results}
        same = MonthlyScore.objects.filter(campaign_id=fixed["campaign_id"], month=fixed["month"],
                                           status=fixed["status"])
        return [pk for pk, unit_id in same.values_list("pk", "unit_id") if unit_id not in scored]
    fields = [f for f in MonthlyScore._meta.concrete_fields if not f.primary_key]
    own = [f.attname for f in fields if f.attname not in fixed and f.attname not in ("unit_id", "kind")]
    order = [*fixed, "unit_id", "kind", *own]  # the COPY's column order
    quote = connection.ops.quote_name
    columns = ", ".join(quote(MonthlyScore._meta.get_field(name).column) for name in order)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in (
        quote(MonthlyScore._meta.get_field(name).column) for name in update_fields))
    table = quote(MonthlyScore._meta.db_table)
    head = list(fixed.values())
    compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE score_upsert ON COMMIT DROP AS SELECT {columns} FROM {table} "
                       f"WITH NO DATA")
        with cursor.cursor.copy(f"COPY score_upsert ({columns}) FROM STDIN") as copy:
            for r in results:
                values = r.values
                copy.write_row([*head, r.unit_id, r.kind, *(
                    (r.breakdown_json or compact(values[name])) if name == "breakdown" else values[name]
                    for name in own)])
        cursor.execute(
            f"WITH upserted AS (INSERT INTO {table} ({columns}) SELECT {columns} FROM score_upsert "
            f"ON CONFLICT (campaign_id, unit_id, month) DO UPDATE SET {updates} RETURNING 1) "
            f"SELECT m.id FROM {table} m WHERE m.campaign_id = %s AND m.month = %s AND m.status = %s "
            f"AND NOT EXISTS (SELECT 1 FROM score_upsert s WHERE s.unit_id = m.unit_id)",
            [fixed["campaign_id"], fixed["month"], fixed["status"]])
        gone = [pk for (pk,) in cursor.fetchall()]
        cursor.execute("DROP TABLE score_upsert")
    return gone


def scores_publish(*, actor: User, campaign: Campaign, month: dt.date, override_reason: str = "") -> ScoreMonth:
    """Publish the month's draft: the rows freeze and the units are told.
    Publishing waits for open appeals (409) unless the office overrides with
    a reason, which the bulletin records."""
    _require_city_office(actor)
    month = _check_month(campaign, month)
    start, end = compute.month_bounds(month)
    if timezone.now() < end:
        raise ValidationError({"month": _("%(month)s has not ended yet.") % {"month": f"{month:%Y-%m}"}})
    with transaction.atomic():
        score_month = _lock_month(campaign, month)
        if score_month.is_published:
            raise Conflict(_("The scores of %(month)s are already published.") % {"month": f"{month:%Y-%m}"})
        if score_month.computed_at is None:
            raise ValidationError({"month": _("Compute the scores of %(month)s before publishing them.")
                                   % {"month": f"{month:%Y-%m}"}})
        open_appeals = Appeal.objects.open().filter(score_month=score_month).count()
        override_reason = (override_reason or "").strip()
        if open_appeals and not override_reason:
            raise Conflict(_("%(n)d appeal(s) for %(month)s are still open: decide them first, or publish with a "
                             "reason for not waiting.") % {"n": open_appeals, "month": f"{month:%Y-%m}"})
        score_month.publish_override_reason = override_reason[:4000] if open_appeals else ""
        now = timezone.now()
        score_month.status, score_month.published_at, score_month.published_by = (
            ScoreMonth.Status.PUBLISHED, now, actor)
        score_month._history_user = actor
        score_month.save()
        scores = MonthlyScore.objects.filter(score_month=score_month)
        scores.update(status=ScoreMonth.Status.PUBLISHED)
        unit_ids = list(scores.values_list("unit_id", flat=True))
        campaign_id = campaign.pk
        actor_id = actor.pk
        transaction.on_commit(lambda: hooks.scores_published(campaign_id, month, unit_ids, actor_id=actor_id))
    return score_month


def scores_compute_previous_month(*, now: dt.datetime | None = None) -> list[ScoreMonth]:
    """The monthly job: the previous month's draft for every active campaign
    (a month already published is left alone)."""
    today = timezone.localtime(now or timezone.now(), compute.SHANGHAI).date()
    month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    done = []
    for campaign in Campaign.objects.active().filter(starts_on__lte=compute.next_month(month) - dt.timedelta(days=1),
                                                     ends_on__gte=month):
        try:
            done.append(scores_recompute(actor=None, campaign=campaign, month=month))
        except Conflict:
            logger.info("scores of campaign=%s month=%s already published", campaign.pk, f"{month:%Y-%m}")
    return done


# --- review and appeals (申诉) ------------------------------------------------------------------

APPEAL_MAX_FILES = 5
APPEAL_MAX_BYTES = 10 * 1024 * 1024


def score_month_open_review(*, actor: User, campaign: Campaign, month: dt.date) -> ScoreMonth:
    """Open a computed draft for review: each unit's head sees its draft with
    the deductions and may appeal within the scheme's window of working days."""
    from inspections import deadlines

    _require_city_office(actor)
    month = _check_month(campaign, month)
    with transaction.atomic():
        score_month = _lock_month(campaign, month)
        if score_month.is_published:
            raise Conflict(_("The scores of %(month)s are already published.") % {"month": f"{month:%Y-%m}"})
        if score_month.computed_at is None:
            raise ValidationError({"month": _("Compute the scores of %(month)s before opening them for review.")
                                   % {"month": f"{month:%Y-%m}"}})
        now = timezone.now()
        window = (score_month.scheme or scheme_current()).appeal_window_days
        score_month.review_opened_at = now
        score_month.appeal_deadline = deadlines.due_at_for(
            now, deadlines.Allowance(window, "working_days"))
        score_month._history_user = actor
        score_month.save()
    return score_month


def _appeal_target_in_scope(score: MonthlyScore, target: str, obj) -> bool:
    """The appealed record is one of the unit's deductions of the month."""
    from inspections.models import Finding, RectificationTask, Visit

    start, end = compute.month_bounds(score.month)
    path, unit_id = score.unit.path, score.unit_id
    if target == "finding":
        return Finding.objects.counting().filter(
            pk=obj.pk, visit__inspection__campaign=score.campaign, visit__visited_at__gte=start,
            visit__visited_at__lt=end,
        ).filter(Q(visit__unit__path__startswith=path) | Q(visit__point__department_id=unit_id)).exists()
    if target == "visit":
        return Visit.objects.filter(
            pk=obj.pk, inspection__campaign=score.campaign, visited_at__gte=start, visited_at__lt=end,
        ).filter(Q(unit__path__startswith=path) | Q(point__department_id=unit_id)).exists()
    return RectificationTask.objects.filter(
        pk=obj.pk, finding__campaign=score.campaign, unit__path__startswith=path,
    ).exclude(status=RectificationTask.Status.VOID).exists()


def appeal_submit(*, actor: User, score: MonthlyScore, target: str, obj, reason: str, files=()) -> Appeal:
    """A unit's head appeals one deduction of the draft (a finding, a visit or a
    task's credit) while the month is open for review and the window runs."""
    if not has_role(actor, score.unit, [Role.HEAD]):
        raise PermissionDenied(_("Only the head (负责人) of the unit may appeal its score."))
    if target not in Appeal.Target.values:
        raise ValidationError({"target": _("Appeal a finding, a visit or a task.")})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Please give a reason.")})
    files = list(files or [])
    if len(files) > APPEAL_MAX_FILES:
        raise ValidationError({"files": _("Attach at most %(n)d files.") % {"n": APPEAL_MAX_FILES}})
    if any(getattr(f, "size", 0) > APPEAL_MAX_BYTES for f in files):
        raise ValidationError({"files": _("An attachment is larger than 10 MB.")})
    score_month = score.score_month
    if score_month.is_published:
        raise Conflict(_("The scores of %(month)s are already published.") % {"month": f"{score.month:%Y-%m}"})
    now = timezone.now()
    if score_month.review_opened_at is None:
        raise ValidationError({"month": _("The office has not opened %(month)s for review yet.")
                               % {"month": f"{score.month:%Y-%m}"}})
    if score_month.appeal_deadline is not None and now > score_month.appeal_deadline:
        raise ValidationError({"month": _("Appeals for %(month)s closed on %(date)s.") % {
            "month": f"{score.month:%Y-%m}",
            "date": f"{timezone.localtime(score_month.appeal_deadline):%Y-%m-%d %H:%M}"}})
    if obj is None or not _appeal_target_in_scope(score, target, obj):
        raise ValidationError({target: _("This is not one of the unit's deductions of %(month)s.")
                               % {"month": f"{score.month:%Y-%m}"}})
    appeal = Appeal(campaign=score.campaign, unit=score.unit, month=score.month, score_month=score_month,
                    target=target, reason=reason[:4000], submitted_by=actor, **{target: obj})
    appeal._history_user = actor
    try:
        with transaction.atomic():
            appeal.save()
            for f in files:
                AppealAttachment.objects.create(appeal=appeal, file=f, original_name=str(f.name)[:200],
                                                size=getattr(f, "size", 0) or 0)
    except IntegrityError as exc:
        raise Conflict(_("This deduction already has an open appeal.")) from exc
    return appeal


def _lock_open_appeal(appeal: Appeal) -> Appeal:
    locked = Appeal.objects.select_for_update().select_related("score_month", "unit").get(pk=appeal.pk)
    if locked.status != Appeal.Status.OPEN:
        raise Conflict(_("This appeal was already decided."))
    return locked


def _tell_unit(appeal: Appeal, actor: User) -> None:
    """The heads and handlers of the unit learn the decision (inbox, email by preference, webhook)."""
    from django.urls import reverse
    from django.utils.translation import gettext_lazy

    from notifications.models import Event
    from notifications.services import Text, notify

    people = User.objects.filter(is_active=True, memberships__active=True, memberships__unit=appeal.unit,
                                 memberships__role__in=[Role.HEAD, Role.HANDLER]).distinct()
    title = (gettext_lazy("Your appeal for %(month)s was accepted") if appeal.status == Appeal.Status.ACCEPTED
             else gettext_lazy("Your appeal for %(month)s was rejected"))
    notify(event=Event.APPEAL_DECIDED, recipients=people, title=Text(title, {"month": f"{appeal.month:%Y-%m}"}),
           body=appeal.decision_note, url=reverse("scores:appeal_list") + f"?unit={appeal.unit_id}",
           target=appeal, unit=appeal.unit, data={"appeal": appeal.pk, "status": appeal.status}, exclude=actor)


def appeal_accept(*, actor: User, appeal: Appeal, note: str, resolution: str = "",
                  severity: str | None = None) -> Appeal:
    """Accept an appeal: the record is corrected through the loop's services
    (finding voided or its severity changed, task left out of the credit), with
    history; the next recompute of the draft shows the effect."""
    from inspections import services as loop
    from inspections.models import Finding

    _require_city_office(actor)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("Please give a reason.")})
    with transaction.atomic():
        appeal = _lock_open_appeal(appeal)
        if appeal.score_month.is_published:
            raise Conflict(_("The scores of %(month)s are already published.") % {"month": f"{appeal.month:%Y-%m}"})
        why = _("Appeal #%(id)s accepted: %(note)s") % {"id": appeal.pk, "note": note}
        if appeal.target == Appeal.Target.FINDING:
            resolution = resolution or Appeal.Resolution.VOID
            if resolution == Appeal.Resolution.SEVERITY:
                if not severity:
                    raise ValidationError({"severity": _("Choose the corrected severity.")})
                loop.finding_set_severity(actor=actor, finding=appeal.finding, severity=severity, reason=why)
            elif resolution == Appeal.Resolution.VOID:
                loop.finding_void(actor=actor, finding=appeal.finding, reason=why)
            else:
                raise ValidationError({"resolution": _("A finding is voided or its severity changed.")})
        elif appeal.target == Appeal.Target.VISIT:
            resolution = Appeal.Resolution.VOID
            for finding in appeal.visit.findings.counting().order_by("pk"):
                if finding.status in Finding.OPEN_STATUSES:
                    loop.finding_void(actor=actor, finding=finding, reason=why)
        else:
            resolution = Appeal.Resolution.TASK_VOID
            loop.task_void(actor=actor, task=appeal.task, reason=why)
        appeal.status, appeal.resolution = Appeal.Status.ACCEPTED, resolution
        appeal.decided_by, appeal.decided_at, appeal.decision_note = actor, timezone.now(), note[:4000]
        appeal._history_user = actor
        appeal.save()
        _tell_unit(appeal, actor)
    return appeal


def appeal_reject(*, actor: User, appeal: Appeal, reason: str) -> Appeal:
    """Reject an appeal with a reason; nothing else changes."""
    _require_city_office(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Please give a reason.")})
    with transaction.atomic():
        appeal = _lock_open_appeal(appeal)
        appeal.status, appeal.decided_by, appeal.decided_at = Appeal.Status.REJECTED, actor, timezone.now()
        appeal.decision_note = reason[:4000]
        appeal._history_user = actor
        appeal.save()
        _tell_unit(appeal, actor)
    return appeal


# --- public announcement (公示) ------------------------------------------------------------------


def score_month_announce(*, actor: User, campaign: Campaign, month: dt.date, announce: bool = True) -> ScoreMonth:
    """Make a published month's ranking, lists and bulletin public (or withdraw
    them): only published months, explicitly, by the city office."""
    _require_city_office(actor)
    month = _check_month(campaign, month)
    with transaction.atomic():
        score_month = ScoreMonth.objects.select_for_update().filter(campaign=campaign, month=month).first()
        if score_month is None or not score_month.is_published:
            raise Conflict(_("Only published scores can be announced to the public."))
        score_month.announced_at = timezone.now() if announce else None
        score_month.announced_by = actor if announce else None
        score_month._history_user = actor
        score_month.save()
    return score_month


# --- 曝光台 (exposures) ---------------------------------------------------------------------------


def exposure_create(*, actor: User, finding, note: str = "", photos_reviewed: bool = False) -> Exposure:
    """Select a finding for the 曝光台. It goes public only once the photos are
    confirmed reviewed (faces, number plates): here or with ``exposure_confirm_review``."""
    from inspections.models import Finding

    _require_city_office(actor)
    if finding.status in (Finding.Status.VOID, Finding.Status.DUPLICATE):
        raise ValidationError({"finding": _("A void or duplicate finding cannot be exposed.")})
    now = timezone.now()
    exposure = Exposure(finding=finding, note=(note or "").strip()[:300], created_by=actor,
                        photos_reviewed_at=now if photos_reviewed else None,
                        photos_reviewed_by=actor if photos_reviewed else None)
    exposure._history_user = actor
    try:
        with transaction.atomic():
            exposure.save()
    except IntegrityError as exc:
        raise Conflict(_("This finding is already exposed.")) from exc
    return exposure


def exposure_confirm_review(*, actor: User, exposure: Exposure) -> Exposure:
    """Confirm the photos were reviewed for faces and number plates: the exposure goes public."""
    _require_city_office(actor)
    with transaction.atomic():
        locked = Exposure.objects.select_for_update().get(pk=exposure.pk)
        if locked.withdrawn_at is not None:
            raise Conflict(_("This exposure was withdrawn."))
        if locked.photos_reviewed_at is None:
            locked.photos_reviewed_at, locked.photos_reviewed_by = timezone.now(), actor
            locked._history_user = actor
            locked.save()
    return locked


def exposure_withdraw(*, actor: User, exposure: Exposure, reason: str) -> Exposure:
    _require_city_office(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Please give a reason.")})
    with transaction.atomic():
        locked = Exposure.objects.select_for_update().get(pk=exposure.pk)
        if locked.withdrawn_at is not None:
            raise Conflict(_("This exposure was withdrawn."))
        locked.withdrawn_at, locked.withdrawn_by, locked.withdraw_reason = timezone.now(), actor, reason[:300]
        locked._history_user = actor
        locked.save()
    return locked


# --- accountability records and the annual report -----------------------------------------------


def accountability_record_create(*, actor: User, unit: Unit, kind: str, decided_on: dt.date, decision_maker: str,
                                 document_number: str = "", note: str = "", attachment=None, task=None,
                                 finding=None, score: MonthlyScore | None = None) -> AccountabilityRecord:
    """Record 通报批评/约谈/书面检查/问责 against a unit (supervisors over it)."""
    _require_supervisor_over(actor, unit)
    for obj, name in ((task, "task"), (finding, "finding"), (score, "score")):
        if obj is not None and not (obj.unit.path.startswith(unit.path)):
            raise ValidationError({name: _("This record is not about the unit.")})
    record = AccountabilityRecord(unit=unit, kind=kind, decided_on=decided_on,
                                  decision_maker=(decision_maker or "").strip(),
                                  document_number=(document_number or "").strip(), note=(note or "").strip(),
                                  task=task, finding=finding, score=score, created_by=actor)
    if attachment is not None:
        record.attachment = attachment
    record.full_clean()
    record._history_user = actor
    record.save()
    return record


def accountability_suggestions(*, user: User, campaign: Campaign) -> list[dict]:
    """Measures to consider (suggested, never created): units black-listed in two
    consecutive published months, and tasks at 挂牌督办 — each without a record yet."""
    from inspections.models import RectificationTask

    from .models import ListFlag, previous_month

    out = []
    black = (MonthlyScore.objects.visible_to(user).filter(campaign=campaign, status=ScoreMonth.Status.PUBLISHED,
                                                          list_flag=ListFlag.BLACK)
             .select_related("unit").order_by("unit_id", "month"))
    months_of: dict[int, list] = {}
    for row in black:
        months_of.setdefault(row.unit_id, []).append(row)
    recorded_scores = set(AccountabilityRecord.objects.filter(score__campaign=campaign).values_list("score_id",
                                                                                                   flat=True))
    for rows in months_of.values():
        for before, after in zip(rows, rows[1:]):
            if previous_month(after.month) == before.month and after.pk not in recorded_scores:
                out.append({"reason": "black_twice", "unit": after.unit_id, "unit_name": after.unit.name,
                            "score": after.pk, "months": [f"{before.month:%Y-%m}", f"{after.month:%Y-%m}"]})
    from inspections.selectors import tasks_for

    listed = (tasks_for(user).filter(finding__campaign=campaign, supervision=RectificationTask.Supervision.LISTED)
              .exclude(accountability_records__isnull=False).select_related("unit").order_by("pk"))
    for task in listed:
        out.append({"reason": "listed_task", "unit": task.unit_id, "unit_name": task.unit.name, "task": task.pk})
    return out


def annual_report(*, user: User, campaign: Campaign, year: int, unit: Unit) -> dict:
    """A unit's year for the city's 年度考核 system: published scores per month
    (total, rank, list flag, grade, rectification counts and rate), appeals and
    accountability records (only what the user may see)."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 1)
    scores = (MonthlyScore.objects.visible_to(user).filter(campaign=campaign, unit=unit, month__range=(start, end),
                                                           status=ScoreMonth.Status.PUBLISHED).order_by("month"))
    months = []
    for s in scores:
        closed = s.task_on_time_count + s.task_late_count
        months.append({
            "score": s.pk, "month": f"{s.month:%Y-%m}", "total": None if s.total is None else str(s.total),
            "rank": s.rank,
            "ranked_count": s.ranked_count, "list_flag": s.list_flag, "grade": s.grade,
            "field_score": None if s.field_score is None else str(s.field_score),
            "rectification_score": None if s.rectification_score is None else str(s.rectification_score),
            "tasks": s.task_count, "tasks_closed": closed, "tasks_on_time": s.task_on_time_count,
            "rectification_rate": None if not s.task_count else str(q2(Decimal(closed) * 100 / s.task_count)),
        })
    appeals = Appeal.objects.visible_to(user).filter(campaign=campaign, unit=unit, month__range=(start, end))
    records = AccountabilityRecord.objects.visible_to(user).filter(unit=unit, decided_on__year=year)
    return {
        "campaign": campaign.name, "year": year, "unit": unit.name, "unit_code": unit.code, "months": months,
        "red_months": sum(1 for m in months if m["list_flag"] == "red"),
        "black_months": sum(1 for m in months if m["list_flag"] == "black"),
        "appeals": [{"id": a.pk, "month": f"{a.month:%Y-%m}", "target": a.target, "status": a.status,
                     "resolution": a.resolution} for a in appeals.order_by("month", "pk")],
        "accountability_records": [{"id": r.pk, "kind": r.kind, "date": r.decided_on.isoformat(),
                                    "decision_maker": r.decision_maker, "document_number": r.document_number}
                                   for r in records.order_by("decided_on", "pk")],
    }


# --- quarter, half-year and year (docs/scores.md, "Periods") ----------------------------------


def _check_period(campaign: Campaign, period) -> None:
    if period.first_month > campaign.ends_on or period.last_month < month_start(campaign.starts_on):
        raise ValidationError({"period": _("%(period)s is outside the campaign's period.") % {"period": str(period)}})


def _lock_period(campaign: Campaign, period):
    from .models import ScorePeriod

    ScorePeriod.objects.bulk_create([ScorePeriod(campaign=campaign, kind=period.kind, starts_on=period.first_month,
                                                 ends_on=period.last_month)], ignore_conflicts=True)
    return ScorePeriod.objects.select_for_update().get(campaign=campaign, kind=period.kind,
                                                       starts_on=period.first_month)


def _frozen(label: str, published_at) -> Conflict:
    return Conflict(_("The scores of %(month)s were published on %(date)s and are frozen.") % {
        "month": label, "date": f"{timezone.localtime(published_at):%Y-%m-%d %H:%M}"})


def period_recompute(*, actor: User | None, campaign: Campaign, period):
    """Compute (or compute again) a quarter's, half-year's or year's draft over the period's own
    records with the current scheme (a month goes to ``scores_recompute``). Same lock, same
    idempotent upsert, same freeze as a month."""
    from .models import PeriodScore

    if period.is_month:
        return scores_recompute(actor=actor, campaign=campaign, month=period.first_month)
    _require_city_office(actor)
    _check_period(campaign, period)
    with transaction.atomic():
        score_period = _lock_period(campaign, period)
        if score_period.is_published:
            raise _frozen(str(period), score_period.published_at)
        scheme = scheme_current()
        results = compute.compute(campaign, period.first_month, scheme, last_month=period.last_month)
        rows = [PeriodScore(campaign=campaign, unit_id=r.unit_id, period=score_period, scheme=scheme, kind=r.kind,
                            status=ScoreMonth.Status.DRAFT, **r.values) for r in results]
        PeriodScore.objects.bulk_create(rows, batch_size=1000, update_conflicts=True, unique_fields=["period", "unit"],
                                        update_fields=["scheme", "kind", "status", *SCORE_FIELDS])
        PeriodScore.objects.filter(period=score_period).exclude(unit_id__in=[r.unit_id for r in results]).delete()
        score_period.scheme, score_period.computed_at, score_period.computed_by = scheme, timezone.now(), actor
        score_period._history_user = actor
        score_period.save()
    logger.info("scores computed campaign=%s period=%s units=%d", campaign.pk, period, len(rows))
    return score_period


def period_publish(*, actor: User, campaign: Campaign, period, override_reason: str = ""):
    """Publish a computed quarter, half-year or year once it has ended: its rows freeze (a month
    goes to ``scores_publish``). Periods have no appeals of their own: their months have."""
    from .models import PeriodScore

    if period.is_month:
        return scores_publish(actor=actor, campaign=campaign, month=period.first_month,
                              override_reason=override_reason)
    _require_city_office(actor)
    _check_period(campaign, period)
    if timezone.now() < compute.month_bounds(period.last_month)[1]:
        raise ValidationError({"period": _("%(month)s has not ended yet.") % {"month": str(period)}})
    with transaction.atomic():
        score_period = _lock_period(campaign, period)
        if score_period.is_published:
            raise Conflict(_("The scores of %(month)s are already published.") % {"month": str(period)})
        if score_period.computed_at is None:
            raise ValidationError({"period": _("Compute the scores of %(month)s before publishing them.")
                                   % {"month": str(period)}})
        score_period.status, score_period.published_at, score_period.published_by = (
            ScoreMonth.Status.PUBLISHED, timezone.now(), actor)
        score_period._history_user = actor
        score_period.save()
        PeriodScore.objects.filter(period=score_period).update(status=ScoreMonth.Status.PUBLISHED)
    return score_period
