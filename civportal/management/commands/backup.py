"""Back up the database and every stored file together, with a manifest.

    manage.py backup /backups/2026-12-07

writes ``database.dump`` (pg_dump custom format), ``files/<storage>/<name>``
for every file the database refers to, and ``manifest.json`` (SHA-256 of each
file and of the dump, row counts of the key tables). The dump is taken first:
stored files are never overwritten or deleted (random names), so every file the
dump refers to still exists when the copy runs. Restore with ``manage.py restore``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils import timezone

from civportal.management.commands.move_files_to_object_storage import file_fields, sha256_of

# Row counts the restore drill compares (a restored portal has the same).
COUNTED = ["campaigns.Unit", "campaigns.User", "campaigns.Membership", "inspections.Finding",
           "inspections.RectificationTask", "inspections.FindingPhoto", "scores.MonthlyScore", "volunteers.Volunteer"]


def storage_key(field) -> str:
    from civportal.storage import photo_storage

    return "photos" if getattr(field, "_storage_callable", None) is photo_storage else "default"


def pg_env(database: dict) -> dict:
    env = {**os.environ, "PGHOST": database.get("HOST") or "127.0.0.1", "PGPORT": str(database.get("PORT") or 5432),
           "PGUSER": database.get("USER") or "postgres", "PGDATABASE": database["NAME"]}
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = database["PASSWORD"]
    return env


def row_counts() -> dict[str, int]:
    counts = {}
    for label in COUNTED:
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        counts[label] = model._default_manager.using("default").count()
    return counts


class Command(BaseCommand):
    help = "Back up the database (pg_dump) and every stored file into a folder, with a checksummed manifest."

    def add_arguments(self, parser):
        parser.add_argument("target", help="an empty or new folder")

    def handle(self, *args, target, **options):
        database = settings.DATABASES["default"]
        if connections["default"].vendor != "postgresql":
            raise CommandError("backup needs PostgreSQL; for the embedded SQLite copy db.sqlite3 and var/ "
                               "while bin/run is stopped.")
        out = Path(target)
        if out.exists() and any(out.iterdir()):
            raise CommandError(f"{out} is not empty.")
        (out / "files").mkdir(parents=True, exist_ok=True)
        started = timezone.now()
        counts = row_counts()  # before the dump: rows are never deleted, so the dump holds at least these
        dump = out / "database.dump"
        result = subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={dump}"],
                                env=pg_env(database), capture_output=True, text=True)
        if result.returncode:
            raise CommandError(f"pg_dump failed: {result.stderr.strip()}")
        files, seen = [], set()
        for model, field in file_fields():
            key = storage_key(field)
            names = (model._default_manager.using("default").exclude(**{field.name: ""})
                     .exclude(**{f"{field.name}__isnull": True}).order_by().values_list(field.name, flat=True)
                     .distinct().iterator())
            for name in names:
                if (key, name) in seen:
                    continue
                seen.add((key, name))
                destination = out / "files" / key / name
                destination.parent.mkdir(parents=True, exist_ok=True)
                try:
                    with field.storage.open(name, "rb") as source, destination.open("wb") as copy:
                        shutil.copyfileobj(source, copy, 1024 * 1024)
                except FileNotFoundError:
                    self.stderr.write(f"missing in storage: {key}/{name}")
                    files.append({"storage": key, "name": name, "missing": True})
                    continue
                with destination.open("rb") as handle:
                    files.append({"storage": key, "name": name, "sha256": sha256_of(handle),
                                  "size": destination.stat().st_size})
        with dump.open("rb") as handle:
            dump_sha = sha256_of(handle)
        manifest = {"format": 1, "started_at": started.isoformat(), "finished_at": timezone.now().isoformat(),
                    "database": {"file": dump.name, "sha256": dump_sha, "name": database["NAME"]},
                    "counts": counts, "files": files}
        (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
        missing = sum(1 for f in files if f.get("missing"))
        self.stdout.write(f"backup {out}: database {dump.stat().st_size} bytes, {len(files) - missing} files"
                          f", {missing} missing")
