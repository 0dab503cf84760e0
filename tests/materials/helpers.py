"""Builders for materials tests: an edition with material indicators, a campaign, evidence files."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from types import SimpleNamespace

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from campaigns.models import Campaign, IndicatorSystem, Membership, Unit
from campaigns.planning.indicator_io import Node, store_nodes
from materials import services

from ..factories import make_member, make_unit

Role = Membership.Role


def edition() -> IndicatorSystem:
    """Two sections; material criteria of 4, 3 and 3 points in section 1, one of 5 in section 2."""
    system = IndicatorSystem.objects.create(name="材料版", status=IndicatorSystem.Status.PUBLISHED)
    store_nodes(system, [
        Node(0, "1", "", "公共文明", Decimal(10), ""),
        Node(0, "1.1", "1", "文明宣传", Decimal(10), ""),
        Node(0, "1.1.1", "1.1", "公益广告", Decimal(10), ""),
        Node(0, "1.1.1.1", "1.1.1", "公益广告台账", Decimal(4), "material"),
        Node(0, "1.1.1.2", "1.1.1", "宣传活动记录", Decimal(3), "material"),
        Node(0, "1.1.1.3", "1.1.1", "网上申报", Decimal(3), "online"),
        Node(0, "2", "", "志愿服务", Decimal(5), ""),
        Node(0, "2.1", "2", "志愿组织", Decimal(5), ""),
        Node(0, "2.1.1", "2.1", "志愿队伍", Decimal(5), ""),
        Node(0, "2.1.1.1", "2.1.1", "队伍名册", Decimal(5), "material"),
    ])
    return system


def world(city, personas) -> SimpleNamespace:
    """District A gets a second street; each street has its own clerk."""
    street_a2 = make_unit(city.district_a, kind=Unit.Kind.STREET, name="和平街道", code="C-A-2")
    system = edition()
    campaign = Campaign.objects.create(name="2026材料", starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31),
                                       status=Campaign.Status.ACTIVE, indicator_system=system)
    ind = {i.code: i for i in system.indicators.all()}
    return SimpleNamespace(
        street_a2=street_a2, system=system, campaign=campaign, ind=ind,
        clerk_a1=make_member(city.street_a1, Role.HANDLER, "clerk_a1"),
        clerk_a2=make_member(street_a2, Role.HANDLER, "clerk_a2"),
        clerk_b1=make_member(city.street_b1, Role.HANDLER, "clerk_b1"),
    )


def open_calls(w, personas, city, codes=("1.1.1.1", "1.1.1.2", "1.1.1.3"), deadline=dt.date(2026, 10, 20)):
    """One call per indicator to every street under district A."""
    return [services.material_call_create(actor=personas.supervisor, campaign=w.campaign, indicator=w.ind[code],
                                          title=f"征集{code}", evidence="请上传台账", deadline=deadline,
                                          kind=Unit.Kind.STREET, within=city.district_a)
            for code in codes]


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def pdf(name="台账.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def png(name="照片.png") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(out, format="PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def docx(name="说明.docx", extra: bytes | None = None) -> SimpleUploadedFile:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
        if extra is not None:
            zf.writestr("word/media/big.bin", extra)
    return SimpleUploadedFile(name, out.getvalue())


def submit(submission, actor, files=None, description="已上传"):
    return services.material_submission_submit(actor=actor, submission=submission, description=description,
                                               files=files if files is not None else [pdf()])
