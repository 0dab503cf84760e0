"""Where evidence photos live: never under the public /media/ URL.

Photos show people, plates and addresses, so they are served only through a
permission-checked view. In production ``STORAGES["photos"]`` may point at a
private S3 bucket (django-storages); by default they sit in ``var/private``."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import FileSystemStorage, InvalidStorageError, storages


def photo_storage():
    """The storage for evidence photos (a callable, so migrations stay portable)."""
    try:
        return storages["photos"]
    except InvalidStorageError:
        root = getattr(settings, "PRIVATE_MEDIA_ROOT", None) or (settings.VAR_DIR / "private")
        # base_url=None: there is deliberately no public URL for these files.
        return FileSystemStorage(location=root, base_url=None)
