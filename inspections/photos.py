"""Evidence photos: checked by content, re-encoded, never trusted as uploaded.

Only JPEG, PNG and WebP (by their bytes, not their names) up to 10 MB and
40 megapixels are accepted. Every photo is decoded and written again as a
fresh JPEG, which drops EXIF (GPS position, phone model, owner) and anything
hidden after the image data; a thumbnail is made at the same time."""

from __future__ import annotations

import io
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 4096  # stored photos are scaled down to this longest side
THUMB_SIDE = 360
MAX_PHOTOS = 9
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}

# Pillow refuses to decode anything larger (its own bomb guard, process-wide).
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


@dataclass
class PreparedPhoto:
    image: ContentFile
    thumbnail: ContentFile
    width: int
    height: int
    size: int
    content_type: str = "image/jpeg"


def _encode(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()


def prepare_photo(upload) -> PreparedPhoto:
    """Validate one uploaded file and return the clean photo and thumbnail.
    Raises ValidationError with a message the uploader can act on."""
    name = getattr(upload, "name", "") or "photo"
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, io.SEEK_END)
        size = upload.tell()
    if size > MAX_BYTES:
        raise ValidationError(
            _("%(name)s is larger than 10 MB; please send a smaller photo.") % {"name": name}, code="too_large"
        )
    if size == 0:
        raise ValidationError(_("%(name)s is empty.") % {"name": name}, code="empty")
    upload.seek(0)
    data = upload.read()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format
                width, height = probe.size
                if kind not in ALLOWED_FORMATS:
                    raise ValidationError(
                        _("%(name)s is not a JPEG, PNG or WebP photo.") % {"name": name}, code="bad_type"
                    )
                if width * height > MAX_PIXELS:
                    raise ValidationError(
                        _("%(name)s has too many pixels (at most 40 megapixels).") % {"name": name},
                        code="too_many_pixels",
                    )
                probe.load()
                image = ImageOps.exif_transpose(probe)
                image = image.convert("RGBA") if image.mode in ("P", "LA") else image
                if image.mode == "RGBA":
                    background = Image.new("RGB", image.size, (255, 255, 255))
                    background.paste(image, mask=image.getchannel("A"))
                    image = background
                elif image.mode != "RGB":
                    image = image.convert("RGB")
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(
            _("%(name)s has too many pixels (at most 40 megapixels).") % {"name": name}, code="too_many_pixels"
        ) from None
    except UnidentifiedImageError:
        raise ValidationError(_("%(name)s is not a JPEG, PNG or WebP photo.") % {"name": name}, code="bad_type") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        # Truncated or corrupt image data.
        raise ValidationError(
            _("%(name)s is damaged or incomplete; please take or send the photo again.") % {"name": name},
            code="corrupt",
        ) from None

    image.thumbnail((MAX_SIDE, MAX_SIDE))
    photo_bytes = _encode(image, 85)
    thumb = image.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
    thumb_bytes = _encode(thumb, 75)
    return PreparedPhoto(
        image=ContentFile(photo_bytes, name="photo.jpg"),
        thumbnail=ContentFile(thumb_bytes, name="thumb.jpg"),
        width=image.width,
        height=image.height,
        size=len(photo_bytes),
    )


def prepare_photos(files, *, required: bool, label: str) -> list[PreparedPhoto]:
    """Validate every file before anything is stored (all or nothing)."""
    files = [f for f in (files or []) if f]
    if required and not files:
        raise ValidationError({"photos": _("At least one %(label)s photo is required.") % {"label": label}})
    if len(files) > MAX_PHOTOS:
        raise ValidationError({"photos": _("At most %(n)d photos at a time.") % {"n": MAX_PHOTOS}})
    errors, prepared = [], []
    for upload in files:
        try:
            prepared.append(prepare_photo(upload))
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError({"photos": errors})
    return prepared


def store(model, prepared: list[PreparedPhoto], *, uploaded_by, saved: list | None = None, **owner) -> list:
    """Save prepared photos as rows of ``model`` (FindingPhoto or SubmissionPhoto).
    Stored files are appended to ``saved`` so a rolled-back transaction can discard them."""
    rows = []
    for p in prepared:
        row = model(width=p.width, height=p.height, size=p.size, content_type=p.content_type,
                    uploaded_by=uploaded_by, **owner)
        for field, content in ((row.image, p.image), (row.thumbnail, p.thumbnail)):
            field.save(content.name, content, save=False)
            if saved is not None:
                saved.append((field.storage, field.name))
        row.save()
        rows.append(row)
    return rows


def discard(saved: list) -> None:
    for storage, name in saved:
        try:
            storage.delete(name)
        except OSError:
            pass
    saved.clear()


@contextmanager
def discarded_on_error():
    """Files stored inside the block are deleted again if the block fails
    (the database rows they belonged to were rolled back)."""
    saved: list = []
    try:
        yield saved
    except BaseException:
        discard(saved)
        raise
