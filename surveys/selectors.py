"""Reads of resident surveys: rates per unit with their 95 % margin, and S.

For a wave and a surveyed unit, over its valid (not voided) answers:
awareness = share of "yes" among the answers to the awareness question,
support likewise, satisfaction = share of ratings 4 or 5. The 95 % margin
of a rate p over n answers is 1.96 × √(p(1−p)/n). S = 100 × the weighted
mean of the rates the survey measures (weights in ``WEIGHTS``, renormalised
over the rates present); final once the unit's quota is reached, else
provisional. docs/surveys.md has a worked example."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q

from .models import Question, SurveyResponse, SurveyWave, WaveTarget

Rate = Question.Rate
WEIGHTS = {Rate.AWARENESS: Decimal("0.3"), Rate.SUPPORT: Decimal("0.3"), Rate.SATISFACTION: Decimal("0.4")}
POSITIVE = {Question.Kind.YESNO: ["yes"], Question.Kind.RATING: ["4", "5"]}
Z95 = 1.96


def _q(value: float, places: str = "0.01") -> Decimal:
    return Decimal(str(value)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


@dataclass
class RateResult:
    rate: str
    answered: int
    positive: int

    @property
    def share(self) -> float | None:
        return self.positive / self.answered if self.answered else None

    @property
    def percent(self) -> Decimal | None:
        return None if self.share is None else _q(100 * self.share)

    @property
    def margin(self) -> Decimal | None:
        """The 95 % margin in percentage points."""
        if not self.answered:
            return None
        p = self.share
        return _q(100 * Z95 * math.sqrt(p * (1 - p) / self.answered))


@dataclass
class UnitResult:
    target: WaveTarget
    n: int
    rates: dict = field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.n >= self.target.quota

    @property
    def score(self) -> Decimal | None:
        present = [(WEIGHTS[r], res.share) for r, res in self.rates.items() if res.share is not None]
        if not present:
            return None
        total = sum(w for w, _s in present)
        return (Decimal(100) * sum(w * Decimal(str(s)) for w, s in present) / total).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP)


def rate_questions(wave: SurveyWave) -> dict[str, Question]:
    return {q.rate: q for q in wave.survey.questions.exclude(rate="")}


def results(wave: SurveyWave, targets=None) -> list[UnitResult]:
    """Per surveyed unit: valid answers and rates, in one aggregate query (plus targets and questions)."""
    questions = rate_questions(wave)
    aggregates = {"n": Count("pk")}
    for rate, q in questions.items():
        key = q.key
        aggregates[f"{rate}_answered"] = Count("pk", filter=Q(answers__has_key=key))
        aggregates[f"{rate}_positive"] = Count("pk", filter=Q(**{f"answers__{key}__in": POSITIVE[q.kind]}))
    rows = {r["target_id"]: r for r in SurveyResponse.objects.valid().filter(wave=wave).order_by()
            .values("target_id").annotate(**aggregates)}
    targets = targets if targets is not None else wave.targets.select_related("unit")
    out = []
    for target in targets:
        row = rows.get(target.pk, {})
        out.append(UnitResult(target=target, n=row.get("n", 0), rates={
            rate: RateResult(rate, row.get(f"{rate}_answered", 0), row.get(f"{rate}_positive", 0))
            for rate in questions}))
    return out


def survey_scores(campaign, month: dt.date) -> dict[str, Decimal]:
    """S per unit path for a month: from the campaign's waves ending in the month,
    units whose quota is reached (a later wave of the month wins)."""
    end = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    scores: dict[str, Decimal] = {}
    for wave in SurveyWave.objects.filter(campaign=campaign, ends_on__gte=month, ends_on__lt=end).order_by("ends_on", "pk"):
        for result in results(wave):
            if result.final and result.score is not None:
                scores[result.target.unit.path] = result.score
    return scores


def distribution(wave: SurveyWave, responses) -> list[tuple[Question, int, list[tuple[str, int, int]]]]:
    """Per choice/rating/yes-no question: (question, answered, [(option label, count, percent)]) over
    ``responses`` (valid answers in the reader's scope), in one aggregate query."""
    questions = [q for q in wave.survey.questions.all() if q.kind != Question.Kind.TEXT]
    aggregates = {}
    for q in questions:
        aggregates[f"{q.key}_n"] = Count("pk", filter=Q(answers__has_key=q.key))
        for i, (value, _label) in enumerate(q.options()):
            # A list answer is matched as text ('"2"' inside '["1", "2"]'): JSON containment is PostgreSQL-only.
            lookup = ({f"answers__{q.key}__icontains": f'"{value}"'} if q.kind == Question.Kind.MULTIPLE
                      else {f"answers__{q.key}": value})
            aggregates[f"{q.key}_{i}"] = Count("pk", filter=Q(**lookup))
    row = responses.valid().aggregate(**aggregates) if aggregates else {}
    out = []
    for q in questions:
        n = row.get(f"{q.key}_n") or 0
        options = []
        for i, (_value, label) in enumerate(q.options()):
            count = row.get(f"{q.key}_{i}") or 0
            options.append((label, count, round(100 * count / n) if n else 0))
        out.append((q, n, options))
    return out
