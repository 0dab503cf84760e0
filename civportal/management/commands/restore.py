"""Restore a backup made by ``manage.py backup`` into the configured database
(which must be empty: a new database) and storage, verifying every checksum.

    createdb civportal_restored
    DATABASE_URL=postgres://…/civportal_restored manage.py restore /backups/2026-12-07

Exits non-zero if the dump or any file does not match the manifest, or if the
restored row counts differ from those recorded at backup time."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from civportal import listcache
from civportal.management.commands.backup import pg_env, row_counts
from civportal.management.commands.move_files_to_object_storage import sha256_of


class Command(BaseCommand):
    help = "Restore a backup folder (database and files) into an empty database and the configured storage."

    def add_arguments(self, parser):
        parser.add_argument("source", help="a folder written by manage.py backup")

    def handle(self, *args, source, **options):
        from django.core.files.storage import default_storage

        from civportal.storage import photo_storage

        folder = Path(source)
        manifest = json.loads((folder / "manifest.json").read_text())
        dump = folder / manifest["database"]["file"]
        with dump.open("rb") as handle:
            if sha256_of(handle) != manifest["database"]["sha256"]:
                raise CommandError("database.dump does not match its checksum in the manifest.")
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            if cursor.fetchone()[0]:
                raise CommandError(f"database {settings.DATABASES['default']['NAME']} is not empty: "
                                   "restore into a new database.")
        connection.close()
        result = subprocess.run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                                 f"--dbname={settings.DATABASES['default']['NAME']}", str(dump)],
                                env=pg_env(settings.DATABASES["default"]), capture_output=True, text=True)
        if result.returncode:
            raise CommandError(f"pg_restore failed: {result.stderr.strip()}")
        listcache.bump()  # pg_restore wrote behind the portal's back: no cached list predates it
        storages = {"photos": photo_storage(), "default": default_storage}
        restored = skipped = 0
        for entry in manifest["files"]:
            if entry.get("missing"):
                continue
            path = folder / "files" / entry["storage"] / entry["name"]
            with path.open("rb") as handle:
                if sha256_of(handle) != entry["sha256"]:
                    raise CommandError(f"{path} does not match its checksum in the manifest.")
            storage = storages[entry["storage"]]
            if storage.exists(entry["name"]):
                with storage.open(entry["name"], "rb") as handle:
                    if sha256_of(handle) == entry["sha256"]:
                        skipped += 1
                        continue
                storage.delete(entry["name"])
            with path.open("rb") as handle:
                saved = storage.save(entry["name"], File(handle, name=path.name))
            if saved != entry["name"]:
                raise CommandError(f"{entry['name']} was stored as {saved}")
            restored += 1
        counts = row_counts()
        differing = {k: (v, counts.get(k)) for k, v in manifest["counts"].items() if (counts.get(k) or 0) < v}
        if differing:
            raise CommandError(f"row counts differ from the backup (expected, restored): {differing}")
        self.stdout.write(f"restored {settings.DATABASES['default']['NAME']}: {sum(counts.values())} counted rows "
                          f"match; {restored} files restored, {skipped} already present")
