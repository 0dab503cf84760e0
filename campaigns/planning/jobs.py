"""Running a background import: claim the job, call the import with a
progress callback, record the outcome. Re-running a finished job does nothing.

Each kind of import has a runner ``run(actor, upload, params, progress) ->
ImportResult``. The campaigns kinds are listed here; apps above campaigns
(volunteers, scores) register theirs with ``register_runner`` in their AppConfig.ready,
so this module never imports them."""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from collections.abc import Callable

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from civportal.errors import Conflict
from civportal.xlsx import ImportRejected, ImportResult, RowError, write_xlsx

from ..accounts.imports import import_accounts
from ..imports import import_units
from ..models import Campaign, ImportJob
from . import indicator_io, ledger_io

Runner = Callable[..., ImportResult]
_RUNNERS: dict[str, Runner] = {}


def register_runner(kind: str, run: Runner) -> None:
    """``run(actor=, upload=, params=, progress=)`` imports one job's file of ``kind``."""
    _RUNNERS[kind] = run


def _points(*, actor, upload, params, progress):
    return ledger_io.import_points(actor=actor, upload=upload, progress=progress)


def _work_items(*, actor, upload, params, progress):
    campaign = Campaign.objects.get(pk=params["campaign"])
    return ledger_io.import_work_items(actor=actor, upload=upload, campaign=campaign, progress=progress)


def _units(*, actor, upload, params, progress):
    return import_units(actor=actor, upload=upload)


def _accounts(*, actor, upload, params, progress):
    return import_accounts(actor=actor, upload=upload, progress=progress)


def _edition(*, actor, upload, params, progress):
    effective_from = params.get("effective_from")
    system, result = indicator_io.import_edition(
        actor=actor, upload=upload, name=params["name"], layout=params.get("layout") or "auto",
        effective_from=dt.date.fromisoformat(effective_from) if effective_from else None,
        is_sample=bool(params.get("is_sample")))
    return result


register_runner(ImportJob.Kind.POINTS, _points)
register_runner(ImportJob.Kind.WORK_ITEMS, _work_items)
register_runner(ImportJob.Kind.UNITS, _units)
register_runner(ImportJob.Kind.INDICATORS, _edition)
register_runner(ImportJob.Kind.ACCOUNTS, _accounts)

logger = logging.getLogger(__name__)


def import_job_run(*, job_id: int) -> ImportJob | None:
    # Claim the row: only one worker moves a queued job to running.
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=timezone.now(), message=""
    )
    if claimed != 1:
        return None
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    actor = job.created_by

    def progress(done: int, total: int) -> None:
        percent = min(99, int(done * 100 / total)) if total else 0
        ImportJob.objects.filter(pk=job.pk).update(progress=percent, total_rows=total // 2)

    with override(actor.language):
        try:
            run = _RUNNERS.get(job.kind)
            if run is None:
                raise ValidationError(_("This kind of import does not run in the background."))
            with job.file.open("rb") as upload:
                result = run(actor=actor, upload=upload, params=job.params, progress=progress)
        except ImportRejected as exc:
            return _finish(job, ImportJob.Status.FAILED, errors=[e.as_dict() for e in exc.errors],
                           message=_("Nothing was imported: %(count)d problem(s) found.") % {"count": len(exc.errors)})
        except (ValidationError, PermissionDenied, Conflict) as exc:  # e.g. scores of a month published meanwhile
            text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            return _finish(job, ImportJob.Status.FAILED, errors=[RowError(0, "", text).as_dict()], message=text)
        except Exception:
            logger.exception("import job %s crashed", job.pk)
            _finish(job, ImportJob.Status.FAILED, errors=[], message=_("The import failed unexpectedly; nothing was imported."))
            raise
    job.created_count = result.created + result.updated
    return _finish(job, ImportJob.Status.SUCCEEDED, errors=[], message="")


def _finish(job: ImportJob, status: str, *, errors: list, message: str) -> ImportJob:
    """Record the outcome. The job keeps the first ``ERRORS_KEPT`` row errors and
    their total; beyond that every error goes to an xlsx report file, so a junk
    sheet cannot make the job row (or a list of jobs) hundreds of megabytes."""
    job.status, job.errors, job.message = status, errors[: ImportJob.ERRORS_KEPT], message[:500]
    job.error_count = len(errors)
    job.progress, job.finished_at = 100, timezone.now()
    fields = ["status", "errors", "error_count", "message", "progress", "finished_at", "created_count", "updated_at"]
    if len(errors) > ImportJob.ERRORS_KEPT:
        with tempfile.TemporaryFile() as spool:
            write_xlsx(spool, title=_("import report"), headers=[_("row"), _("column"), _("problem")],
                       rows=([e["row"] or "", e["column"], e["message"]] for e in errors))
            spool.seek(0)
            job.report.save(f"import-{job.pk}-report.xlsx", File(spool), save=False)
        fields.append("report")
    job.save(update_fields=fields)
    return job
