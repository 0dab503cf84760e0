"""The worked example of the monthly index (October 2026), shared by tests.

Units (conftest ``city`` plus two streets and a second department):
  District A: Street A1 (── Community A1 ── Grid A1), Street A2
  District B: Street B1, Street B2
  Departments: 城管局 (supervises point pA1b), 交警支队 (tasks only)
Point types: T1 背街小巷 weight 1, T2 农贸市场 weight 2.
Categories: C1 deduction 2, C2 deduction 4. Severity ×0.5/×1/×2, repeat ×2.

Street A1
  v1 pA1a(T1, in Community A1) 10-10: f1 C1 minor 2×0.5=1, f2 C2 severe 4×2=8 → 91
  v2 pA1a(T1)                  10-20: f3 C1 moderate, repeat of f1 (10 days) 2×1×2=4 → 96
  v3 pA1b(T2, at Street A1)    10-15: clean → 100
  F = (1·(91+96)/2 + 2·100)/3 = (93.5+200)/3 = 97.8333 → 97.83
  tasks: t1 (Community A1) due 10-12 closed 10-11 → 1
         t2 due 10-14 closed 10-20 → 0.5
         t3 due 10-25 open → 0
         t4 (Community A1) due 10-18 closed 10-17, one rework 10-16 → 1 − 0.25 = 0.75
  R = 100·2.25/4 = 56.25; S = 80 (own); M = 90 (Community A1's entry)
  total = .6·97.8333 + .2·56.25 + .1·80 + .1·90 = 58.70 + 11.25 + 8 + 9 = 86.95
Street A2
  v4 pA2(T1) 10-05 clean → F = 100; no R, S, M → 100; bonus +2 → clamped 100.00
Street B1
  v5 pB1(T2) 10-31 23:30: f5 C2 moderate 4 → 96 (a voided and a duplicate finding deduct nothing)
  v6 pB1(T2) 11-01 00:30: severe finding — next month, not counted
  F = 96
  tasks: t5 due 09-20 carried over, closed 10-05 → 0.5
         t6 due 10-10, extension approved 10-08 to 10-20, closed 10-15 → 1
            (a rework recorded 11-02 is after the month: ignored)
         t7 due 10-28, extension approved 11-03 to 11-10 (ignored), closed 11-05 (after the month) → 0
         t8 voided → left out; t9 due 09-10 closed 09-09 → not in October
  R = 100·1.5/3 = 50.00; total = (.6·96 + .2·50)/.8 = 67.6/.8 = 84.50; penalty −1.5 → 83.00
Street B2
  v7 pB2(T1) 10-03: f7 C2 severe 8, f8 C1 severe 4 → 88
  v8 pB2(T1) 10-04: f9 C2 severe, repeat of f7 → 16 → 84
  F = 86; t10 due 10-20 open → R = 0; total = (.6·86 + .2·0)/.8 = 51.6/.8 = 64.50
Streets: n = 4, k = max(1, ceil(4/10)) = 1
  A2 100.00 rank 1 red; A1 86.95 rank 2; B1 83.00 rank 3; B2 64.50 rank 4 black (< 70 and bottom 1)
District A: T1 visits 91, 96, 100 → 95.6667; T2 100 → F = (95.6667 + 200)/3 = 887/9 = 98.5556 → 98.56
  R = 56.25 (t1–t4); S = 80 and M = 90 from the subtree
  total = .6·887/9 + .2·56.25 + .1·80 + .1·90 = 59.1333 + 11.25 + 17 = 87.3833 → 87.38
District B: T1 88, 84 → 86; T2 96 → F = (86 + 192)/3 = 92.6667 → 92.67
  R = 100·(0.5+1+0+0)/4 = 37.50 (t5, t6, t7, t10)
  total = (.6·278/3 + .2·37.5)/.8 = (55.6 + 7.5)/.8 = 78.875 → 78.88 (half up)
Districts: n = 2, k = 1: A rank 1 (87.38 < 90: not red), B rank 2 (no bottom list below 3 units)
Community A1: F = 93.50 (v1, v2); R = 100·(1 + 0.75)/2 = 87.50; M = 90 (own); no S
  total = (.6·93.5 + .2·87.5 + .1·90)/.9 = 82.6/.9 = 91.7778 → 91.78; alone: rank 1, red
城管局: F = 100 (v3 at the point it supervises); R = 100 (t11 due 10-20 closed 10-19)
  total = (.5·100 + .3·100)/.8 = 100.00; rank 1 red
交警支队: tasks only (t12) → R = 100 but no F → no total, not ranked
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from campaigns.models import Unit
from inspections.models import Finding
from scores.models import MaterialsScore, ScoreAdjustment, SurveyScore
from tests.factories import make_unit

from . import helpers as h
from .helpers import OCT, at


def build(city, personas) -> SimpleNamespace:
    street_a2 = make_unit(city.district_a, kind=Unit.Kind.STREET, name="湖滨街道", code="C-A-2")
    street_b2 = make_unit(city.district_b, kind=Unit.Kind.STREET, name="江北街道", code="C-B-2")
    traffic = make_unit(city.city, kind=Unit.Kind.DEPARTMENT, name="市交警支队", code="C-JJ")
    camp = h.campaign()
    t1, t2 = h.point_type("T1", "背街小巷", 1), h.point_type("T2", "农贸市场", 2)
    c1, c2 = h.category("C1", "垃圾乱堆", 2), h.category("C2", "设施破损", 4)
    pa1a = h.point(city.community_a1, t1, name="春晖巷")
    pa1b = h.point(city.street_a1, t2, department=city.department, name="人民路菜场")
    pa2 = h.point(street_a2, t1, name="湖滨巷")
    pb1 = h.point(city.street_b1, t2, name="解放菜场")
    pb2 = h.point(street_b2, t1, name="江北巷")
    insp = h.inspection(camp, city.city)

    v1 = h.visit(insp, pa1a, at(10, 10))
    f1 = h.finding(camp, c1, "minor", visit_=v1)
    f2 = h.finding(camp, c2, "severe", visit_=v1)
    v2 = h.visit(insp, pa1a, at(10, 20))
    f3 = h.finding(camp, c1, "moderate", visit_=v2)
    h.visit(insp, pa1b, at(10, 15))
    h.visit(insp, pa2, at(10, 5))
    v5 = h.visit(insp, pb1, at(10, 31, 23, 30))
    f5 = h.finding(camp, c2, "moderate", visit_=v5)
    h.finding(camp, c1, "severe", visit_=v5, status=Finding.Status.VOID, void_reason="误报")
    h.finding(camp, c2, "severe", visit_=v5, status=Finding.Status.DUPLICATE, duplicate_of=f5)
    v6 = h.visit(insp, pb1, at(11, 1, 0, 30))
    h.finding(camp, c2, "severe", visit_=v6)
    v7 = h.visit(insp, pb2, at(10, 3))
    h.finding(camp, c2, "severe", visit_=v7)
    h.finding(camp, c1, "severe", visit_=v7)
    v8 = h.visit(insp, pb2, at(10, 4))
    h.finding(camp, c2, "severe", visit_=v8)

    h.task(camp, c1, city.community_a1, due=at(10, 12), closed=at(10, 11))
    h.task(camp, c1, city.street_a1, due=at(10, 14), closed=at(10, 20))
    h.task(camp, c1, city.street_a1, due=at(10, 25))
    h.task(camp, c1, city.community_a1, due=at(10, 18), closed=at(10, 17), reworks=[at(10, 16)])
    h.task(camp, c1, city.street_b1, due=at(9, 20), dispatched=at(9, 10), closed=at(10, 5))
    h.task(camp, c1, city.street_b1, due=at(10, 10), dispatched=at(10, 1), closed=at(10, 15),
           extension=(at(10, 8), at(10, 20)), reworks=[at(11, 2)])
    h.task(camp, c1, city.street_b1, due=at(10, 28), dispatched=at(10, 20), closed=at(11, 5),
           extension=(at(11, 3), at(11, 10)))
    h.task(camp, c1, city.street_b1, due=at(10, 15), voided=True)
    h.task(camp, c1, city.street_b1, due=at(9, 10), closed=at(9, 9))
    h.task(camp, c1, street_b2, due=at(10, 20))
    h.task(camp, c1, city.department, due=at(10, 20), closed=at(10, 19))
    h.task(camp, c1, traffic, due=at(10, 20), closed=at(10, 19))

    SurveyScore.objects.create(campaign=camp, unit=city.street_a1, month=OCT, score=Decimal(80))
    MaterialsScore.objects.create(campaign=camp, unit=city.community_a1, month=OCT, score=Decimal(90))
    ScoreAdjustment.objects.create(campaign=camp, unit=street_a2, month=OCT, kind="bonus", points=2,
                                   reason="上级表扬", created_by=personas.supervisor)
    ScoreAdjustment.objects.create(campaign=camp, unit=city.street_b1, month=OCT, kind="penalty",
                                   points=Decimal("1.5"), reason="媒体曝光", created_by=personas.supervisor)
    return SimpleNamespace(campaign=camp, street_a2=street_a2, street_b2=street_b2, traffic=traffic,
                           f1=f1, f2=f2, f3=f3, f5=f5, c1=c1, c2=c2, pb1=pb1, insp=insp)
