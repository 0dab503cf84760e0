"""Measure the 20,000-row imports (TARGETS / issue 3 acceptance 5).

    DATABASE_URL=... .venv/bin/python manage.py load_demo --quiet
    DATABASE_URL=... .venv/bin/python benchmarks/import_20k.py [--rows 20000] [--keep]

Builds a points sheet and a ledger sheet of N rows over the demo city, imports
each as the demo supervisor (the same code path as the background job, with a
progress callback) and prints the times. The last line is ``P7 met|not met``:
each import ≤ 30 s and the bad sheet rejected with its row errors; the exit
status is 0 only when met. Everything is rolled back unless --keep is given.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civportal.settings")

import django  # noqa: E402

django.setup()

from django.db import transaction  # noqa: E402
from openpyxl import Workbook  # noqa: E402

from campaigns.models import Campaign, Indicator, PointType, Unit, User  # noqa: E402
from campaigns.planning import ledger_io  # noqa: E402
from civportal.xlsx import ImportRejected  # noqa: E402


class Rollback(Exception):
    pass


def sheet(rows) -> io.BytesIO:
    workbook = Workbook(write_only=True)
    ws = workbook.create_sheet()
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    workbook.save(out)
    out.seek(0)
    out.name, out.size = "bench.xlsx", out.getbuffer().nbytes
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    actor = User.objects.get(username="supervisor")
    grids = list(Unit.objects.filter(kind=Unit.Kind.GRID).values_list("code", flat=True))
    leads = list(Unit.objects.filter(kind__in=[Unit.Kind.DISTRICT, Unit.Kind.DEPARTMENT]).values_list("code", flat=True))
    types = list(PointType.objects.values_list("name", flat=True))
    campaign = Campaign.objects.filter(status=Campaign.Status.ACTIVE).first()
    codes = list(Indicator.objects.filter(system_id=campaign.indicator_system_id, level="criterion")
                 .values_list("code", flat=True))
    n = args.rows
    points = sheet([["点位编号", "点位名称", "点位类型", "地址", "经度", "纬度", "属地单位"]] + [
        [f"BENCH{i:06d}", f"测试点位{i}", types[i % len(types)], f"测试路{i}号", 121.4 + (i % 1000) / 5000,
         29.8 + (i % 997) / 5000, grids[i % len(grids)]] for i in range(n)])
    ledger = sheet([["指标编码", "工作任务", "牵头单位", "配合单位", "完成时限"]] + [
        [codes[i % len(codes)], f"测试任务{i}", leads[i % len(leads)], leads[(i + 1) % len(leads)], "2026-12-31"]
        for i in range(n)])
    bad = sheet([["点位名称", "点位类型", "属地单位"]] + [
        [f"坏点位{i}", types[i % len(types)] if i % 10 else "不存在的类型", grids[i % len(grids)]] for i in range(n)])
    print(f"sheets: points {points.size / 1e6:.1f} MB, ledger {ledger.size / 1e6:.1f} MB, {n} rows each")
    BAR = 30.0
    took, rejected = {}, 0
    try:
        with transaction.atomic():
            for label, run in (
                ("points", lambda: ledger_io.import_points(actor=actor, upload=points, progress=lambda d, t: None)),
                ("ledger", lambda: ledger_io.import_work_items(actor=actor, upload=ledger, campaign=campaign,
                                                               progress=lambda d, t: None)),
            ):
                started = time.perf_counter()
                result = run()
                took[label] = time.perf_counter() - started
                print(f"{label}: {result.created} created in {took[label]:.1f} s")
            started = time.perf_counter()
            try:
                ledger_io.import_points(actor=actor, upload=bad)
            except ImportRejected as exc:
                rejected = len(exc.errors)
                print(f"bad points sheet: {len(exc.errors)} row errors reported in {time.perf_counter() - started:.1f} s")
            if not args.keep:
                raise Rollback
    except Rollback:
        print("rolled back")
    except ImportRejected as exc:  # a good sheet refused: the verdict below says not met
        print(f"a good sheet was refused: {len(exc.errors)} errors, first {exc.errors[:3]}")
    met = len(took) == 2 and max(took.values()) <= BAR and rejected > 0
    print(f"P7 {'met' if met else 'not met'}: {n:,} rows, " + ", ".join(f"{k} {v:.1f} s" for k, v in took.items())
          + f" (bar {BAR:.0f} s each), bad sheet {rejected:,} row errors")
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
