"""Peak memory of the staff-account and score-entry imports on a 100k-row junk
sheet (issue 14, acceptance 6: every row wrong, nothing written).

    DATABASE_URL=... .venv/bin/python manage.py load_demo --quiet
    DATABASE_URL=... .venv/bin/python benchmarks/import_memory.py [--rows 100000] [--only accounts|scores]

Builds the sheet once (the columns of both imports, a bad unit code and role in
every row), runs each import as the demo supervisor under tracemalloc and prints
the Python heap's peak, the error count and the time. Nothing is written (every
row is refused), and the run is rolled back anyway.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civportal.settings")

import django  # noqa: E402

django.setup()

from django.db import transaction  # noqa: E402
from openpyxl import Workbook  # noqa: E402

from campaigns.accounts.imports import import_accounts  # noqa: E402
from campaigns.models import Campaign, User  # noqa: E402
from civportal.xlsx import ImportRejected  # noqa: E402
from scores.services import entered_scores_import  # noqa: E402


class Rollback(Exception):
    pass


def junk(rows: int) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["name", "username", "phone", "unit code", "role", "code", "score"])
    for i in range(rows):
        sheet.append([f"=junk{i}", f"j{i}", "12", "火星区", "不存在的角色", f"J{i}", "很多分"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def measure(label: str, run) -> None:
    tracemalloc.start()
    started = time.monotonic()
    try:
        run()
    except ImportRejected as exc:
        errors = len(exc.errors)
    else:
        errors = 0
    elapsed = time.monotonic() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label}: peak {peak / 2**20:.1f} MiB, {errors} row errors, {elapsed:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--only", choices=["accounts", "scores"], help="measure one import")
    args = parser.parse_args()
    data = junk(args.rows)
    actor = User.objects.get(username="supervisor")
    campaign = Campaign.objects.order_by("-starts_on").first()
    month = max(campaign.starts_on.replace(day=1), min(dt.date.today().replace(day=1), campaign.ends_on.replace(day=1)))
    print(f"{args.rows} junk rows, {len(data) / 2**20:.1f} MiB workbook")
    try:
        with transaction.atomic():
            if args.only in (None, "accounts"):
                measure("staff accounts", lambda: import_accounts(actor=actor, upload=io.BytesIO(data)))
            if args.only in (None, "scores"):
                measure("score entries", lambda: entered_scores_import(
                    actor=actor, kind="survey", campaign=campaign, month=month, upload=io.BytesIO(data)))
            raise Rollback
    except Rollback:
        pass


if __name__ == "__main__":
    main()
