"""Builders for loop tests: a campaign with points in districts A and B,
categories, photos made in memory, and findings/tasks in any state."""

from __future__ import annotations

import datetime as dt
import io
import struct
import zlib
from decimal import Decimal
from types import SimpleNamespace

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from campaigns.models import Campaign, Point, PointType
from inspections import services
from inspections.models import Finding, FindingCategory, Inspection, RectificationTask, Severity


def jpeg(name="photo.jpg", size=(64, 48), color=(200, 40, 40), exif=None) -> SimpleUploadedFile:
    out = io.BytesIO()
    kwargs = {"exif": exif} if exif is not None else {}
    Image.new("RGB", size, color).save(out, format="JPEG", **kwargs)
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def jpeg_with_gps(name="gps.jpg") -> SimpleUploadedFile:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (29.0, 52.0, 10.0), "E", (121.0, 33.0, 20.0)
    return jpeg(name, exif=exif)


def png_bomb(name="bomb.png", width=30000, height=30000) -> SimpleUploadedFile:
    """A tiny PNG claiming 900 megapixels (a decompression bomb): only the header is real."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = zlib.compress(b"\x00" * (width // 8 + 1) * 16)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
    return SimpleUploadedFile(name, data, content_type="image/png")


def truncated_jpeg(name="cut.jpg") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.effect_noise((400, 300), 64).convert("RGB").save(out, format="JPEG", quality=95)
    data = out.getvalue()
    return SimpleUploadedFile(name, data[: len(data) // 2], content_type="image/jpeg")


def text_as_jpeg(name="notes.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, "这不是照片 this is not a photo\n".encode() * 20, content_type="image/jpeg")


def world(city, personas) -> SimpleNamespace:
    """A campaign, a category, points in community A1 and street B1, an inspection with visits."""
    point_type, _ = PointType.objects.get_or_create(code="T-MKT", defaults={"name": "农贸市场"})
    campaign = Campaign.objects.create(name="2026创城测试", starts_on=dt.date(2026, 1, 1),
                                       ends_on=dt.date(2026, 12, 31), status=Campaign.Status.ACTIVE)
    group = FindingCategory.objects.create(code="HJ", name="环境卫生")
    category = FindingCategory.objects.create(code="HJ-01", name="垃圾乱堆乱放", group=group,
                                              default_severity=Severity.MODERATE, deduction=Decimal("2"))
    point_a = Point.objects.create(name="春晖农贸市场", point_type=point_type, unit=city.community_a1,
                                   department=city.department, latitude=Decimal("29.870000"),
                                   longitude=Decimal("121.550000"))
    point_b = Point.objects.create(name="解放路菜场", point_type=point_type, unit=city.street_b1,
                                   latitude=Decimal("29.880000"), longitude=Decimal("121.560000"))
    inspection = Inspection.objects.create(campaign=campaign, title="十一月暗访", kind=Inspection.Kind.UNANNOUNCED,
                                           unit=city.city, starts_on=dt.date(2026, 11, 1),
                                           ends_on=dt.date(2026, 11, 30))
    visit_a = services.visit_create(actor=personas.inspector, inspection=inspection, point=point_a)
    visit_b = services.visit_create(actor=personas.inspector, inspection=inspection, point=point_b)
    return SimpleNamespace(campaign=campaign, group=group, category=category, point_a=point_a, point_b=point_b,
                           inspection=inspection, visit_a=visit_a, visit_b=visit_b, point_type=point_type)


def finding(w, personas, *, visit=None, severity=None, **kw) -> Finding:
    obj, _created = services.finding_create(
        actor=personas.inspector, source=Finding.Source.INSPECTION, category=kw.pop("category", w.category),
        description=kw.pop("description", "市场门口垃圾堆积"), severity=severity, visit=visit or w.visit_a,
        photos_in=kw.pop("photos_in", [jpeg()]), **kw,
    )
    return obj


def dispatched(w, personas, **kw) -> RectificationTask:
    return services.task_dispatch(actor=personas.supervisor, finding=finding(w, personas, **kw))


def submitted(w, personas, **kw) -> RectificationTask:
    task = dispatched(w, personas, **kw)
    handler = personas.handler_b if task.unit.path.startswith(w.point_b.unit.path) and task.unit == w.point_b.unit \
        else personas.handler_a
    task = services.task_accept(actor=handler, task=task)
    services.task_submit(actor=handler, task=task, note="已清理", photos_in=[jpeg("after.jpg", color=(40, 200, 40))])
    task.refresh_from_db()
    return task


def stored_photo_names() -> set[str]:
    """Every file in the photo storage, on disk or in the bucket (walks listdir, so it works for both)."""
    from civportal.storage import photo_storage

    storage, names, folders = photo_storage(), set(), [""]
    while folders:
        folder = folders.pop()
        try:
            dirs, files = storage.listdir(folder)
        except FileNotFoundError:
            continue
        names.update(f"{folder}/{name}".lstrip("/") for name in files)
        folders.extend(f"{folder}/{name}".lstrip("/") for name in dirs)
    return names
