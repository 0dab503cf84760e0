"""Copy every stored file from the local folders into the configured storage
(the object store), verifying each copy by SHA-256.

Idempotent and resumable: a file whose copy already exists with the same
checksum is skipped, so an interrupted run is simply started again. Local files
are never deleted; remove the folders once the report shows 0 failed."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage
from django.core.management.base import BaseCommand, CommandError
from django.db import models

CHUNK = 1024 * 1024


def sha256_of(handle) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: handle.read(CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


def file_fields():
    """(model, field) for every FileField/ImageField of every installed model."""
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, models.FileField):
                yield model, field


class Command(BaseCommand):
    help = "Copy stored files from MEDIA_ROOT / PRIVATE_MEDIA_ROOT into the configured object storage (checksummed)."

    def add_arguments(self, parser):
        parser.add_argument("--media-root", default=None, help="source folder of public-storage files (MEDIA_ROOT)")
        parser.add_argument("--private-root", default=None,
                            help="source folder of evidence photos (PRIVATE_MEDIA_ROOT, var/private)")
        parser.add_argument("--dry-run", action="store_true", help="only report what would be copied")

    def handle(self, *args, media_root=None, private_root=None, dry_run=False, **options):
        from civportal.storage import PrivateFileSystemStorage, photo_storage

        media = Path(media_root or settings.MEDIA_ROOT)
        private = Path(private_root or PrivateFileSystemStorage().location)
        counts = {"copied": 0, "skipped": 0, "missing": 0, "failed": 0}
        for model, field in file_fields():
            # Evidence photos live in the private folder, everything else under MEDIA_ROOT.
            source_root = private if getattr(field, "_storage_callable", None) is photo_storage else media
            destination = field.storage
            if isinstance(destination, FileSystemStorage) and Path(destination.location).resolve() == source_root.resolve():
                raise CommandError("Object storage is not configured (set AWS_STORAGE_BUCKET_NAME): "
                                   f"{model._meta.label}.{field.name} already stores in {source_root}.")
            names = (model._default_manager.exclude(**{field.name: ""}).exclude(**{f"{field.name}__isnull": True})
                     .order_by().values_list(field.name, flat=True).distinct().iterator())
            for name in names:
                counts[self.copy_one(source_root / name, destination, name, dry_run)] += 1
        self.stdout.write(" ".join(f"{key}={value}" for key, value in counts.items()))
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} file(s) failed their checksum; run the command again.")

    def copy_one(self, source: Path, destination, name: str, dry_run: bool) -> str:
        if not source.is_file():
            if destination.exists(name):
                return "skipped"  # moved earlier, local copy already removed
            self.stderr.write(f"missing locally: {source}")
            return "missing"
        with source.open("rb") as handle:
            expected = sha256_of(handle)
        if destination.exists(name):
            with destination.open(name, "rb") as handle:
                if sha256_of(handle) == expected:
                    return "skipped"
            if not dry_run:
                destination.delete(name)  # a partial or wrong copy from an interrupted run
        if dry_run:
            return "copied"
        with source.open("rb") as handle:
            saved = destination.save(name, File(handle, name=source.name))
        if saved != name:
            self.stderr.write(f"stored under another name: {name} -> {saved}")
            return "failed"
        with destination.open(name, "rb") as handle:
            if sha256_of(handle) != expected:
                self.stderr.write(f"checksum mismatch after copy: {name}")
                return "failed"
        return "copied"
