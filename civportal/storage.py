"""Where evidence photos live: never under the public /media/ URL.

Photos show people, plates and addresses, so they are served only through a
permission-checked view. In production ``STORAGES["photos"]`` may point at a
private S3 bucket (django-storages); by default they sit in
``PRIVATE_MEDIA_ROOT`` (``var/private``)."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage, InvalidStorageError, storages


class PrivateFileSystemStorage(FileSystemStorage):
    """Local files with no public URL; the folder follows the setting at call time."""

    def __init__(self):
        super().__init__(base_url=None)

    @property
    def base_location(self):
        return str(getattr(settings, "PRIVATE_MEDIA_ROOT", None) or (settings.VAR_DIR / "private"))

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    def url(self, name):
        raise ValueError("evidence photos have no public URL; serve it through a scope-checked view")


def photo_storage():
    """The storage for evidence photos (a callable, so migrations stay portable)."""
    try:
        return storages["photos"]
    except InvalidStorageError:
        return PrivateFileSystemStorage()
