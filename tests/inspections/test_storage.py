"""Evidence photos and other stored files in the configured storage: the local
folder by default, a private S3 bucket when AWS_STORAGE_BUCKET_NAME is set.
`bin/test` with CIVPORTAL_TEST_STORAGE=s3 runs these (and the other photo,
attachment and import tests) against a moto S3 server over HTTP."""

from __future__ import annotations

import os

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.management import CommandError, call_command
from django.urls import reverse

from inspections.models import FindingPhoto
from civportal.storage import PrivateFileSystemStorage, photo_storage

from .helpers import finding, world

S3_RUN = os.environ.get("CIVPORTAL_TEST_STORAGE") == "s3"


@pytest.fixture
def w(city, personas):
    return world(city, personas)


def s3_object(key: str) -> bytes:
    import boto3
    from django.conf import settings

    client = boto3.client("s3", endpoint_url=os.environ["AWS_S3_ENDPOINT_URL"], region_name="us-east-1")
    return client.get_object(Bucket=settings.AWS_STORAGE_BUCKET_NAME, Key=key)["Body"].read()


def test_storage_backend_follows_the_switch():
    from storages.backends.s3 import S3Storage

    if S3_RUN:
        assert isinstance(photo_storage(), S3Storage) and isinstance(FindingPhoto._meta.get_field("image").storage,
                                                                     S3Storage)
        assert isinstance(default_storage._wrapped if hasattr(default_storage, "_wrapped") else default_storage,
                          S3Storage) or isinstance(default_storage, S3Storage)
        assert photo_storage().querystring_expire <= 600 and photo_storage().default_acl is None
    else:
        assert isinstance(FindingPhoto._meta.get_field("image").storage, PrivateFileSystemStorage)
        assert isinstance(default_storage, FileSystemStorage)


def test_uploaded_photo_is_stored_privately_and_served_only_in_scope(w, personas, client):
    photo = finding(w, personas).photos.get()
    if S3_RUN:
        assert s3_object(f"private/{photo.image.name}")[:2] == b"\xff\xd8"  # really in the bucket, as a JPEG
        assert "X-Amz-Expires=" in photo.image.url  # only signed URLs exist
    else:
        with pytest.raises(ValueError):
            photo.image.url  # no public URL at all on disk
    url = reverse("inspections:photo", args=["finding", photo.pk, "full"])
    client.force_login(personas.handler_a)
    response = client.get(url)
    body = b"".join(response.streaming_content)
    with photo.image.open("rb") as handle:
        assert response.status_code == 200 and body == handle.read() and body[:2] == b"\xff\xd8"
    client.force_login(personas.handler_b)
    assert client.get(url).status_code == 404


def test_move_command_copies_verifies_and_resumes(w, personas, tmp_path, settings):
    photos = list(finding(w, personas).photos.all())
    names = [name for p in photos for name in (p.image.name, p.thumbnail.name)]
    storage = photo_storage()
    source = tmp_path / "old-private"
    originals = {}
    for name in names:  # the files as they lay on the old disk, missing from the new storage
        with storage.open(name, "rb") as handle:
            originals[name] = handle.read()
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(originals[name])
        storage.delete(name)
    storage.save(names[0], ContentFile(b"half a file"))  # an interrupted earlier run
    media = tmp_path / "old-media"
    media.mkdir()

    args = ["move_files_to_object_storage", f"--private-root={source}", f"--media-root={media}"]
    out = _run(*args)
    assert "copied=2" in out and "failed=0" in out
    for name in names:
        with storage.open(name, "rb") as handle:
            assert handle.read() == originals[name]
    assert "copied=0 skipped=2" in _run(*args)  # resumable: verified copies are skipped


def test_move_command_refuses_to_copy_a_folder_onto_itself(w, personas, settings, tmp_path):
    finding(w, personas)
    if S3_RUN:  # the bucket is configured: files already there are verified and skipped, none missing
        assert "copied=0 skipped=2 missing=0 failed=0" in _run(
            "move_files_to_object_storage", f"--private-root={tmp_path / 'p'}", f"--media-root={tmp_path / 'm'}")
    else:
        with pytest.raises(CommandError, match="not configured"):
            _run("move_files_to_object_storage", f"--media-root={tmp_path / 'm'}")


def _run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()
