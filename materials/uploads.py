"""Evidence files: checked by their bytes, never trusted by name or declared type.

Accepted: PDF, JPEG/PNG/WebP images, Word and Excel (OOXML .docx/.xlsx and
the legacy OLE .doc/.xls). Refused with a clear message and nothing stored:
anything else (HTML, SVG, scripts, archives), files over
``MATERIAL_MAX_BYTES``, a name whose extension disagrees with the content
(a "PDF" that is not one), image decompression bombs and OOXML zips that
would inflate beyond ``MAX_INFLATED`` or by a ratio above ``MAX_RATIO``."""

from __future__ import annotations

import io
import warnings
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

MAX_INFLATED = 200 * 1024 * 1024
MAX_RATIO = 100
MAX_MEMBERS = 2000
MAX_FILES = 10

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# kind -> (accepted extensions, content type served with the download)
KINDS = {
    "pdf": ({"pdf"}, "application/pdf"),
    "jpeg": ({"jpg", "jpeg"}, "image/jpeg"),
    "png": ({"png"}, "image/png"),
    "webp": ({"webp"}, "image/webp"),
    "docx": ({"docx"}, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": ({"xlsx"}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "ole": ({"doc", "xls"}, "application/octet-stream"),
}


@dataclass
class CheckedFile:
    kind: str
    name: str
    size: int


def content_type(kind: str) -> str:
    return KINDS.get(kind, ((), "application/octet-stream"))[1]


def _refuse(message: str, code: str):
    raise ValidationError(message, code=code)


def _ooxml_kind(data: bytes, name: str) -> str:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        _refuse(_("%(name)s is damaged or not a Word/Excel file.") % {"name": name}, "bad_type")
    if len(members) > MAX_MEMBERS:
        _refuse(_("%(name)s contains too many parts.") % {"name": name}, "bomb")
    inflated = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members) or 1
    if inflated > MAX_INFLATED or inflated / packed > MAX_RATIO:
        _refuse(_("%(name)s would unpack to an unreasonable size (a compressed bomb?).") % {"name": name}, "bomb")
    names = {m.filename for m in members}
    if "[Content_Types].xml" not in names:
        _refuse(_("%(name)s is a zip archive, not a Word or Excel document.") % {"name": name}, "bad_type")
    if any(n.startswith("word/") for n in names):
        return "docx"
    if any(n.startswith("xl/") for n in names):
        return "xlsx"
    _refuse(_("%(name)s is not a Word or Excel document.") % {"name": name}, "bad_type")


def _image_kind(data: bytes, name: str) -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format
                width, height = probe.size
                if width * height > 40_000_000:
                    _refuse(_("%(name)s has too many pixels (at most 40 megapixels).") % {"name": name}, "bomb")
                probe.verify()
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        _refuse(_("%(name)s has too many pixels (at most 40 megapixels).") % {"name": name}, "bomb")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        _refuse(_("%(name)s is a damaged image.") % {"name": name}, "bad_type")
    return {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp"}[fmt]


def sniff(data: bytes, name: str) -> str:
    """The kind of file the bytes are, or a ValidationError."""
    head = data[:16]
    if head.startswith(b"%PDF-"):
        if b"%%EOF" not in data[-2048:]:
            _refuse(_("%(name)s is a damaged or incomplete PDF.") % {"name": name}, "bad_type")
        return "pdf"
    if head.startswith(b"\xff\xd8\xff") or head.startswith(b"\x89PNG\r\n\x1a\n") or (
            head.startswith(b"RIFF") and head[8:12] == b"WEBP"):
        return _image_kind(data, name)
    if head.startswith(b"PK\x03\x04"):
        return _ooxml_kind(data, name)
    if head.startswith(OLE):
        return "ole"
    _refuse(_("%(name)s is not an accepted file: send PDF, JPEG/PNG/WebP images, Word or Excel documents.")
            % {"name": name}, "bad_type")


def check_upload(upload) -> CheckedFile:
    """Validate one uploaded evidence file; raise a ValidationError the uploader can act on."""
    name = (getattr(upload, "name", "") or "file").replace("\\", "/").rsplit("/", 1)[-1][:200] or "file"
    limit = settings.MATERIAL_MAX_BYTES
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, io.SEEK_END)
        size = upload.tell()
    if size > limit:
        _refuse(_("%(name)s is larger than %(mb)d MB.") % {"name": name, "mb": limit // (1024 * 1024)}, "too_large")
    if size == 0:
        _refuse(_("%(name)s is empty.") % {"name": name}, "empty")
    upload.seek(0)
    data = upload.read()
    kind = sniff(data, name)
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in KINDS[kind][0]:
        _refuse(_("%(name)s: its name does not match its content.") % {"name": name}, "mismatch")
    upload.seek(0)
    return CheckedFile(kind=kind, name=name, size=size)
