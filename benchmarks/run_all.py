"""Run every benchmark of TARGETS.md against seeded databases and sum up.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres   # server and role; the name is replaced
    .venv/bin/python benchmarks/run_all.py [--scale 1.0] [--no-seed] [--only lists,load] [--skip bulk_intake]

Databases are named by what they hold (``--db-prefix``, default ``civportal_bench``):
``civportal_bench`` for bench-1M, ``civportal_bench_0_1`` for ``--scale 0.1`` (and
``…_m24`` for ``--months 24``); the growth check of ``lists.py`` reads a quarter
of the scale (``civportal_bench_0_25`` next to bench-1M); the imports and the
bulk intake run on the demo data (``civportal_bench_demo``, ``manage.py
load_demo``). A database that is missing or empty is created (a copy of
``civportal_bench_template``, an empty migrated database made once) and seeded
(``benchmarks/seed_bench.py``) unless ``--no-seed`` is given, in which case it
must exist already. Then each script runs in turn (one at a time, each bounded
by ``--timeout``), its output passed through, and the summary prints each
script's last line ``P<n> met|not met: …``. The exit status is 0 only if every
script printed ``P<n> met`` and exited 0.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
VERDICT = re.compile(r"^P\d+ (met|not met)\b")
SCRIPTS = ["lists", "load", "dashboards", "scores_month", "reminder_scan", "import_20k", "bulk_intake"]
ON_DEMO = {"import_20k", "bulk_intake"}


def database_name(prefix: str, scale: float, months: int = 12) -> str:
    """``civportal_bench`` at scale 1, ``civportal_bench_0_25`` at a quarter; ``_m24`` for 24 months."""
    name = prefix if scale == 1 else f"{prefix}_{format(scale, 'g').replace('.', '_').replace('-', '_')}"
    return name if months == 12 else f"{name}_m{months}"


def url_for(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{name}"))


def admin_query(base: str, sql: str, params=()) -> list[tuple]:
    """One statement in autocommit on the server's ``postgres`` database (CREATE DATABASE cannot run in a
    transaction)."""
    import psycopg

    with psycopg.connect(url_for(base, "postgres"), autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def has_data(url: str, table: str) -> bool:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [table]).fetchone()[0]
        return bool(exists and conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0])


def run(label: str, argv: list[str], url: str, timeout: float, env: dict | None = None) -> tuple[int, list[str]]:
    """Run a script with DATABASE_URL=url, passing its output through; (exit status, output lines)."""
    print(f"\n=== {label}: {' '.join(Path(a).name if a.endswith('.py') else a for a in argv[1:])}", flush=True)
    started = time.monotonic()
    env = {**os.environ, **(env or {}), "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}  # lines as they come
    process = subprocess.Popen(argv, cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines = []
    try:
        for line in process.stdout:
            print("  " + line.rstrip("\n"), flush=True)
            lines.append(line.rstrip("\n"))
            if time.monotonic() - started > timeout:
                raise subprocess.TimeoutExpired(argv, timeout)
        status = process.wait(timeout=max(1.0, timeout - (time.monotonic() - started)))
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)
        lines.append(f"(stopped after {timeout:.0f} s)")
        status = -1
    print(f"=== {label}: exit {status} in {time.monotonic() - started:.0f} s", flush=True)
    return status, lines


def ensure(base: str, name: str, args, seed_argv: list[str]) -> str:
    """The URL of database ``name``, created and filled with ``seed_argv`` if missing or empty."""
    url = url_for(base, name)
    exists = bool(admin_query(base, "SELECT 1 FROM pg_database WHERE datname = %s", [name]))
    if exists and has_data(url, "campaigns_unit"):
        print(f"database {name}: present", flush=True)
        return url
    if args.no_seed:
        sys.exit(f"database {name} is {'empty' if exists else 'missing'} and --no-seed was given")
    if not exists:
        admin_query(base, f'CREATE DATABASE "{name}" TEMPLATE "{template(base, args)}"')
    status, _ = run(f"seed {name}", seed_argv, url, args.timeout)
    if status != 0:
        sys.exit(f"seeding {name} failed (exit {status})")
    return url


def template(base: str, args) -> str:
    """An empty, migrated database to copy new ones from (``{prefix}_template``): migrating an empty
    database costs minutes on a loaded 2-core machine, copying one a second. The seeder's own
    migrate then applies whatever migrations came after the copy."""
    name = f"{args.db_prefix}_template"
    if not admin_query(base, "SELECT 1 FROM pg_database WHERE datname = %s", [name]):
        admin_query(base, f'CREATE DATABASE "{name}"')
        status, _ = run(f"migrate {name}", [PYTHON, str(ROOT / "manage.py"), "migrate", "-v", "0"],
                        url_for(base, name), args.timeout)
        if status != 0:
            admin_query(base, f'DROP DATABASE "{name}"')
            sys.exit(f"migrating {name} failed (exit {status})")
    return name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = bench-1M (the scale of TARGETS.md)")
    parser.add_argument("--months", type=int, default=12, help="months seeded in the main database")
    parser.add_argument("--no-seed", action="store_true", help="never create or seed: the databases must exist")
    parser.add_argument("--db-prefix", default="civportal_bench")
    parser.add_argument("--only", help="comma-separated scripts to run (default: all of " + ", ".join(SCRIPTS) + ")")
    parser.add_argument("--skip", default="", help="comma-separated scripts to leave out")
    parser.add_argument("--no-growth", action="store_true", help="lists.py without the quarter-scale growth check")
    parser.add_argument("--iterations", type=int, default=200, help="lists.py iterations per route")
    parser.add_argument("--dashboard-runs", type=int, default=30, help="dashboards.py runs per dashboard")
    parser.add_argument("--load-seconds", type=float, default=30, help="load.py seconds per phase")
    parser.add_argument("--cache", choices=["on", "off", "both"], default="both", help="load.py response cache")
    parser.add_argument("--reminder-tasks", type=int, default=300, help="reminder_scan.py tasks added to the bench")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds allowed to each script")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        sys.exit("set DATABASE_URL to a PostgreSQL URL (its server and role are used; the name is replaced)")
    chosen = [s for s in (args.only.split(",") if args.only else SCRIPTS) if s not in args.skip.split(",")]
    unknown = set(chosen) - set(SCRIPTS)
    if unknown:
        sys.exit(f"unknown scripts: {', '.join(sorted(unknown))}")

    started = time.monotonic()
    seed = [PYTHON, str(ROOT / "benchmarks/seed_bench.py")]
    bench = quarter = demo = None
    if set(chosen) - ON_DEMO:
        bench = ensure(base, database_name(args.db_prefix, args.scale, args.months), args,
                       seed + ["--scale", str(args.scale), "--months", str(args.months)])
    if "lists" in chosen and not args.no_growth:
        quarter = ensure(base, database_name(args.db_prefix, args.scale / 4, args.months), args,
                         seed + ["--scale", str(args.scale / 4), "--months", str(args.months)])
    if set(chosen) & ON_DEMO:
        demo = ensure(base, f"{args.db_prefix}_demo", args,
                      [PYTHON, str(ROOT / "manage.py"), "load_demo", "--quiet"])

    bench_dir = ROOT / "benchmarks"
    commands = {
        "lists": [str(bench_dir / "lists.py"), "--iterations", str(args.iterations)]
        + (["--growth-against", quarter] if quarter else []),
        "load": [str(bench_dir / "load.py"), "--seconds", str(args.load_seconds), "--cache", args.cache],
        "dashboards": [str(bench_dir / "dashboards.py"), "--runs", str(args.dashboard_runs)],
        "scores_month": [str(bench_dir / "scores_month.py")],
        "reminder_scan": [str(bench_dir / "reminder_scan.py"), "--tasks", str(args.reminder_tasks)],
        "import_20k": [str(bench_dir / "import_20k.py")],
        "bulk_intake": [str(bench_dir / "bulk_intake.py")],
    }
    results = []
    for script in chosen:
        url = demo if script in ON_DEMO else bench
        status, lines = run(script, [PYTHON] + commands[script], url, args.timeout)
        verdicts = [line for line in lines if VERDICT.match(line)]
        last = verdicts[-1] if verdicts else "(no P<n> met|not met line)"
        met = status == 0 and bool(verdicts) and VERDICT.match(last).group(1) == "met" and lines[-1] == last
        if verdicts and lines[-1] != last:
            last += "  (not the last line)"
        if status != 0 and verdicts and VERDICT.match(last).group(1) == "met":
            last += f"  (but exit {status})"
        results.append((script, met, last))

    print(f"\nsummary ({time.monotonic() - started:.0f} s; scale {args.scale:g}, {args.months} months):")
    for script, met, last in results:
        print(f"  {'ok  ' if met else 'FAIL'} {script:14} {last}")
    failed = [script for script, met, _ in results if not met]
    print(f"{len(results) - len(failed)} of {len(results)} met" + (f"; not met: {', '.join(failed)}" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
