"""Realistic data for the browser journeys, built with the services (fast: a
handful of rows, no ``load_demo``). Everything is in 明州市 (the ``city``
fixture) with Chinese names and descriptions, so the screenshots look like
the real thing.

Points (around 29.87 N, 121.55 E):
  春晖农贸市场 (Community A1, supervised by 市城市管理局)  29.870000 121.550000
  春晖巷 (Community A1)                                 29.872000 121.553000
  人民路公交站 (Street A1)                              29.866000 121.547000
  解放路菜场 (Street B1)                                29.880000 121.560000
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw

from campaigns.models import Campaign, Point, PointType
from inspections import services
from inspections.models import Finding, FindingCategory, Inspection
from inspections.taxonomy import DEFAULT_CATEGORIES

NAMES = {"supervisor": "周建华", "inspector": "李晓燕", "leader": "刘志强", "head_a": "陈立新",
         "handler_a": "张伟", "handler_b": "王芳"}
HERE = (29.870150, 121.550120)  # where the inspector stands: ~20 m from 春晖农贸市场


def photo_bytes(colour=(150, 90, 60), size=(480, 360), stripe=(230, 230, 220)) -> bytes:
    """A small real JPEG: a coloured scene with a few shapes (Pillow)."""
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.rectangle([0, int(h * 0.65), w, h], fill=(110, 110, 110))
    draw.rectangle([int(w * 0.1), int(h * 0.2), int(w * 0.45), int(h * 0.65)], fill=stripe)
    draw.ellipse([int(w * 0.55), int(h * 0.45), int(w * 0.8), int(h * 0.8)], fill=(60, 120, 60))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def photo_file(folder: Path, name: str, **kwargs) -> Path:
    path = Path(folder) / name
    path.write_bytes(photo_bytes(**kwargs))
    return path


def upload(name="photo.jpg", **kwargs) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, photo_bytes(**kwargs), content_type="image/jpeg")


def name_personas(personas) -> None:
    """Fixed Chinese names (the factory's are random) so screenshots stay stable."""
    for key, name in NAMES.items():
        user = getattr(personas, key)
        user.display_name = name
        user.save(update_fields=["display_name"])


def categories() -> dict[str, FindingCategory]:
    """The default taxonomy (the seeding migration's rows are flushed by transactional tests)."""
    by_code = {}
    for n, (group_code, group_name, members) in enumerate(DEFAULT_CATEGORIES):
        group, _ = FindingCategory.objects.get_or_create(code=group_code, defaults={"name": group_name,
                                                                                   "sort_order": n})
        for m, (code, name, severity, deduction, engineering) in enumerate(members):
            by_code[code], _ = FindingCategory.objects.get_or_create(code=code, defaults={
                "name": name, "group": group, "default_severity": severity, "deduction": Decimal(deduction),
                "engineering": engineering, "sort_order": m})
    return by_code


def world(city, personas) -> SimpleNamespace:
    """A campaign, categories, four points, an inspection with visits, and a few
    findings in several states (with "before" photos)."""
    name_personas(personas)
    cats = categories()
    market, lane = (PointType.objects.get_or_create(code=code, defaults={"name": name, "weight": Decimal(weight)})[0]
                    for code, name, weight in (("T-MKT", "农贸市场", 2), ("T-LANE", "背街小巷", 1)))
    stop = PointType.objects.get_or_create(code="T-BUS", defaults={"name": "公交站点", "weight": Decimal(1)})[0]
    today = timezone.localdate()  # the campaign and the round run now, whenever the journeys run
    campaign = Campaign.objects.create(name=f"{today.year}年度全国文明城市创建", starts_on=today.replace(month=1, day=1),
                                       ends_on=today.replace(month=12, day=31), status=Campaign.Status.ACTIVE)
    points = SimpleNamespace(
        market=Point.objects.create(name="春晖农贸市场", point_type=market, unit=city.community_a1,
                                    department=city.department, address="人民路188号",
                                    latitude=Decimal("29.870000"), longitude=Decimal("121.550000")),
        lane=Point.objects.create(name="春晖巷", point_type=lane, unit=city.community_a1, address="春晖巷12弄",
                                  latitude=Decimal("29.872000"), longitude=Decimal("121.553000")),
        stop=Point.objects.create(name="人民路公交站", point_type=stop, unit=city.street_a1, address="人民路与中山路口",
                                  latitude=Decimal("29.866000"), longitude=Decimal("121.547000")),
        b_market=Point.objects.create(name="解放路菜场", point_type=market, unit=city.street_b1, address="解放路56号",
                                      latitude=Decimal("29.880000"), longitude=Decimal("121.560000")),
    )
    inspection = Inspection.objects.create(campaign=campaign, title=f"{today.month}月第二轮暗访",
                                           kind=Inspection.Kind.UNANNOUNCED, unit=city.city,
                                           starts_on=today - dt.timedelta(days=3), ends_on=today + dt.timedelta(days=7),
                                           created_by=personas.supervisor)
    inspection.inspectors.add(personas.inspector)
    visit = {key: services.visit_create(actor=personas.inspector, inspection=inspection, point=getattr(points, key))
             for key in ("market", "lane", "stop", "b_market")}

    def record(key, code, description, colour):
        finding, _ = services.finding_create(
            actor=personas.inspector, source=Finding.Source.INSPECTION, category=cats[code], description=description,
            visit=visit[key], photos_in=[upload(f"{code}.jpg", colour=colour)])
        return finding

    findings = SimpleNamespace(
        garbage=record("market", "HJWS-01", "市场东侧出入口垃圾堆放，未及时清运", (150, 100, 60)),
        stall=record("stop", "GGZX-02", "公交站台旁商户出店经营，占用人行道", (120, 110, 150)),
        ads=record("lane", "SRJS-01", "巷口电线杆上张贴小广告多处", (160, 150, 120)),
        manhole=record("b_market", "JCSS-02", "菜场门口雨水井盖缺失，存在安全隐患", (90, 90, 100)),
        parking=record("lane", "GGZX-01", "非机动车占用盲道停放", (100, 140, 160)),
    )
    supervisor = personas.supervisor
    tasks = SimpleNamespace(
        garbage=services.task_dispatch(actor=supervisor, finding=findings.garbage,
                                       instructions="请于期限内清运并落实长效保洁"),
        stall=services.task_dispatch(actor=supervisor, finding=findings.stall),
        manhole=services.task_dispatch(actor=supervisor, finding=findings.manhole, instructions="立即设置警示并补装井盖"),
    )
    return SimpleNamespace(campaign=campaign, categories=cats, points=points, inspection=inspection, visit=visit,
                           findings=findings, tasks=tasks)
