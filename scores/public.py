"""Public announcement (公示): the months the city office published and then
explicitly announced — ranking, red and black lists, bulletin — readable
without login, as pages (printable), an Atom feed and JSON for the city's
website and the media. Nothing from drafts, no personal data (units, numbers
and dates only). Off unless ``PUBLIC_ANNOUNCEMENTS``: every URL is then 404."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import feedgenerator
from django.utils.http import http_date
from django.utils.translation import gettext as _

from campaigns.models import Unit

from .models import ListFlag, MonthlyScore, ScoreMonth

CACHE_SECONDS = 600


def _enabled() -> None:
    if not settings.PUBLIC_ANNOUNCEMENTS:
        raise Http404


def _cacheable(response: HttpResponse, modified: dt.datetime | None) -> HttpResponse:
    response["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    if modified is not None:
        response["Last-Modified"] = http_date(modified.timestamp())
    return response


def _announced():
    return ScoreMonth.objects.announced().select_related("campaign").order_by("-month", "-announced_at")


def _month_or_404(campaign_id: int, month: str) -> ScoreMonth:
    try:
        first = dt.date.fromisoformat(f"{month}-01")
    except ValueError as exc:
        raise Http404 from exc
    found = _announced().filter(campaign_id=campaign_id, month=first).first()
    if found is None:
        raise Http404
    return found


def _rows(score_month: ScoreMonth) -> list[dict]:
    """Ranked units of the month: no people, only units and numbers."""
    rows = (MonthlyScore.objects.filter(score_month=score_month, status=MonthlyScore.Status.PUBLISHED,
                                        rank__isnull=False)
            .order_by("kind", "rank", "unit__path").values("kind", "unit__name", "unit__code", "total", "rank",
                                                             "ranked_count", "list_flag", "grade"))
    return [{
        "kind": r["kind"], "kind_label": str(Unit.Kind(r["kind"]).label), "unit": r["unit__name"],
        "unit_code": r["unit__code"], "total": r["total"], "rank": r["rank"], "ranked_count": r["ranked_count"],
        "list_flag": r["list_flag"], "grade": r["grade"],
    } for r in rows]


def _url(score_month: ScoreMonth) -> str:
    return reverse("scores:public_month", args=[score_month.campaign_id, f"{score_month.month:%Y-%m}"])


def index(request):
    _enabled()
    months = list(_announced()[:60])
    response = render(request, "public/index.html", {"months": [(m, _url(m)) for m in months]})
    return _cacheable(response, max((m.announced_at for m in months), default=None))


def month_page(request, campaign_id: int, month: str):
    _enabled()
    score_month = _month_or_404(campaign_id, month)
    rows = _rows(score_month)
    groups: dict[str, list] = {}
    for row in rows:
        groups.setdefault(row["kind_label"], []).append(row)
    response = render(request, "public/month.html", {
        "sm": score_month, "groups": list(groups.items()),
        "red": [r for r in rows if r["list_flag"] == ListFlag.RED],
        "black": [r for r in rows if r["list_flag"] == ListFlag.BLACK],
        "json_url": reverse("scores:public_month_json", args=[campaign_id, month]),
    })
    return _cacheable(response, score_month.announced_at)


def month_json(request, campaign_id: int, month: str):
    _enabled()
    score_month = _month_or_404(campaign_id, month)
    data = {
        "campaign": score_month.campaign.name, "month": f"{score_month.month:%Y-%m}",
        "published_at": score_month.published_at.isoformat(), "announced_at": score_month.announced_at.isoformat(),
        "units": [{**r, "total": str(r["total"]), "kind_label": r["kind_label"]} for r in _rows(score_month)],
    }
    return _cacheable(JsonResponse(data, json_dumps_params={"ensure_ascii": False}), score_month.announced_at)


def feed(request):
    """Atom 1.0: one entry per announced month."""
    _enabled()
    months = list(_announced()[:30])
    site = settings.SITE_URL
    atom = feedgenerator.Atom1Feed(
        title=_("Civility index: public announcements"), link=site + reverse("scores:public_index"),
        description=_("Monthly rankings and red and black lists announced by the campaign office."),
        feed_url=site + reverse("scores:public_feed"), language="zh-hans", feed_guid=site + reverse("scores:public_feed"),
    )
    for m in months:
        link = site + _url(m)
        atom.add_item(
            title=_("%(campaign)s: civility index %(month)s") % {"campaign": m.campaign.name,
                                                                  "month": f"{m.month:%Y-%m}"},
            link=link, unique_id=link, pubdate=m.announced_at, updateddate=m.announced_at,
            description=_("Ranking and red and black lists of %(month)s, published %(date)s.") % {
                "month": f"{m.month:%Y-%m}", "date": f"{m.published_at:%Y-%m-%d}"},
        )
    response = HttpResponse(content_type="application/atom+xml; charset=utf-8")
    atom.write(response, "utf-8")
    return _cacheable(response, max((m.announced_at for m in months), default=None))


# --- 曝光台 ---------------------------------------------------------------------------------------


def _public_exposures():
    from .models import Exposure

    return Exposure.objects.public().select_related(
        "finding__category", "finding__point", "finding__unit").order_by("-photos_reviewed_at", "-id")


def exposures(request):
    """The public 曝光台: reviewed, not withdrawn exposures with before (and later after) photos."""
    from django.db.models import Prefetch

    from inspections.models import FindingPhoto, RectificationTask, SubmissionPhoto

    _enabled()
    rows = list(_public_exposures().prefetch_related(
        Prefetch("finding__photos", queryset=FindingPhoto.objects.order_by("pk").only("pk", "finding_id")),
        Prefetch("finding__tasks", queryset=RectificationTask.objects.exclude(status="void").order_by("pk")
                 .only("pk", "finding_id", "due_at", "status", "closed_at")),
    )[:100])
    task_ids = [t.pk for e in rows for t in e.finding.tasks.all()]
    after: dict[int, list[int]] = {}
    for photo_id, task_id in (SubmissionPhoto.objects.filter(submission__task_id__in=task_ids,
                                                             submission__task__status="closed")
                              .order_by("pk").values_list("pk", "submission__task__finding_id")):
        after.setdefault(task_id, []).append(photo_id)
    items = []
    for e in rows:
        tasks = list(e.finding.tasks.all())
        items.append({"exposure": e, "finding": e.finding, "before": [p.pk for p in e.finding.photos.all()],
                      "after": after.get(e.finding_id, []), "task": tasks[-1] if tasks else None})
    return _cacheable(render(request, "public/exposures.html", {"items": items}),
                      max((e.photos_reviewed_at for e in rows), default=None))


def exposure_photo(request, kind: str, pk: int):
    """A before (finding) or after (submission) photo, only while its finding is publicly exposed."""
    from django.http import FileResponse

    from inspections.models import FindingPhoto, SubmissionPhoto

    _enabled()
    public = _public_exposures().values("finding_id")
    if kind == "before":
        photo = FindingPhoto.objects.filter(pk=pk, finding_id__in=public).first()
    elif kind == "after":
        photo = SubmissionPhoto.objects.filter(pk=pk, submission__task__finding_id__in=public,
                                               submission__task__status="closed").first()
    else:
        photo = None
    if photo is None:
        raise Http404
    try:
        handle = photo.thumbnail.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    response = FileResponse(handle, content_type="image/jpeg")
    response["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    return response
