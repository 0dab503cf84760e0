"""Running a background import: claim the job, call the import with a
progress callback, record the outcome. Re-running a finished job does nothing."""

from __future__ import annotations

import logging
import tempfile

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from civportal.xlsx import ImportRejected, RowError, write_xlsx

from ..models import Campaign, ImportJob
from . import ledger_io

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
            with job.file.open("rb") as upload:
                if job.kind == ImportJob.Kind.POINTS:
                    result = ledger_io.import_points(actor=actor, upload=upload, progress=progress)
                elif job.kind == ImportJob.Kind.WORK_ITEMS:
                    campaign = Campaign.objects.get(pk=job.params["campaign"])
                    result = ledger_io.import_work_items(actor=actor, upload=upload, campaign=campaign, progress=progress)
                else:  # editions are small and imported inline
                    raise ValidationError(_("This kind of import does not run in the background."))
        except ImportRejected as exc:
            return _finish(job, ImportJob.Status.FAILED, errors=[e.as_dict() for e in exc.errors],
                           message=_("Nothing was imported: %(count)d problem(s) found.") % {"count": len(exc.errors)})
        except (ValidationError, PermissionDenied) as exc:
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
