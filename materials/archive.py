"""The 档案: approved evidence as a zip laid out 版块/测评项目/测评内容, with
an index sheet (index.xlsx) listing every file. Built by a background job."""

from __future__ import annotations

import io
import re
import tempfile
import zipfile

from django.core.files import File
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Indicator
from civportal.xlsx import write_xlsx

from .models import ArchiveJob, MaterialFile, MaterialSubmission

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def safe(text: str, limit: int = 60) -> str:
    return (_UNSAFE.sub("_", text).strip(" .") or "_")[:limit]


def approved_files(campaign, unit=None):
    qs = MaterialFile.objects.filter(
        submission__call__campaign=campaign, submission__status__in=MaterialSubmission.APPROVED,
        round=F("submission__round"),
    )
    if unit is not None:
        qs = qs.filter(submission__unit__path__startswith=unit.path)
    return qs.select_related("submission__unit", "submission__call__indicator").order_by(
        "submission__call__indicator__path", "submission__unit__path", "pk")


def folder_of(indicator: Indicator, ancestors: dict[str, Indicator]) -> list[str]:
    """版块/测评项目/测评内容 of an indicator (a criterion files under its content)."""
    parts = []
    for depth in range(1, min(indicator.depth, 3) + 1):
        node = ancestors.get(indicator.path[: depth * Indicator.STEPLEN])
        if node is not None:
            parts.append(safe(f"{node.code} {node.name}"))
    return parts


def build(job: ArchiveJob) -> None:
    files = list(approved_files(job.campaign, job.unit))
    paths = {f.submission.call.indicator.path for f in files}
    prefixes = {p[: d * Indicator.STEPLEN] for p in paths for d in range(1, 4)}
    ancestors = {i.path: i for i in Indicator.objects.filter(system_id=job.campaign.indicator_system_id,
                                                               path__in=prefixes)}
    spool = tempfile.TemporaryFile()
    index = []  # rows of index.xlsx, written through civportal.xlsx (no formula cells from user data, S10)
    total = len(files) or 1
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        used: set[str] = set()
        for n, f in enumerate(files, start=1):
            sub, indicator = f.submission, f.submission.call.indicator
            folder = folder_of(indicator, ancestors)
            name = safe(f"{sub.unit.code}-{sub.unit.name}-{f.original_name}", 150)
            arcname = "/".join([*folder, name])
            while arcname in used:
                arcname = "/".join([*folder, f"{f.pk}-{name}"])
            used.add(arcname)
            with f.file.open("rb") as handle:
                zf.writestr(arcname, handle.read())
            names = [a.split(" ", 1)[-1] for a in folder] + [""] * (3 - len(folder))
            index.append([*names, indicator.code, indicator.name, sub.unit.code, sub.unit.name, f.original_name,
                          arcname, f.size, sub.get_status_display()])
            if n % 20 == 0:
                ArchiveJob.objects.filter(pk=job.pk).update(progress=min(99, n * 100 // total))
        out = io.BytesIO()
        write_xlsx(out, title="index", rows=index, headers=[
            _("section"), _("item"), _("content"), _("indicator code"), _("indicator"), _("unit code"), _("unit"),
            _("file name"), _("path in archive"), _("size"), _("review")])
        zf.writestr("index.xlsx", out.getvalue())
    spool.seek(0)
    job.unit_paths = sorted({f.submission.unit.path for f in files})
    job.file_count = len(files)
    label = job.unit.code if job.unit else "all"
    job.archive.save(f"archive-{job.campaign_id}-{label}-{job.pk}.zip", File(spool), save=False)
    job.status, job.progress, job.finished_at = ArchiveJob.Status.DONE, 100, timezone.now()
    job.save(update_fields=["unit_paths", "file_count", "archive", "status", "progress", "finished_at", "updated_at"])


def archive_job_run(*, job_id: int) -> None:
    """Claim a queued job and build it (idempotent: another worker's or a finished job is skipped)."""
    with transaction.atomic():
        claimed = ArchiveJob.objects.filter(pk=job_id, status=ArchiveJob.Status.QUEUED).update(
            status=ArchiveJob.Status.RUNNING, updated_at=timezone.now())
    if claimed != 1:
        return
    job = ArchiveJob.objects.select_related("campaign", "unit").get(pk=job_id)
    try:
        build(job)
    except Exception as exc:  # noqa: BLE001 — the job row reports the failure
        ArchiveJob.objects.filter(pk=job_id).update(status=ArchiveJob.Status.FAILED, message=str(exc)[:500],
                                                    finished_at=timezone.now())
        raise
