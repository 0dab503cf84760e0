"""Planning writes: who may do what, and the work item transitions."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from campaigns.models import Campaign, IndicatorSystem, ProgressReport, WorkItem
from campaigns.planning import services
from civportal.errors import Conflict

from .planning_helpers import planned


@pytest.fixture
def plan(city, personas):
    return planned(city)


def test_only_supervisors_create_campaigns_and_status_only_moves_forward(plan, personas):
    with pytest.raises(PermissionDenied):
        services.campaign_create(actor=personas.head_a, name="x", starts_on=dt.date(2026, 1, 1),
                                 ends_on=dt.date(2026, 2, 1), indicator_system=None)
    campaign = services.campaign_create(actor=personas.supervisor, name="新周期", starts_on=dt.date(2026, 1, 1),
                                        ends_on=dt.date(2026, 2, 1), indicator_system=plan.system)
    assert campaign.history.first().history_user == personas.supervisor
    services.campaign_update(actor=personas.supervisor, campaign=campaign, status=Campaign.Status.ACTIVE)
    with pytest.raises(ValidationError):
        services.campaign_update(actor=personas.supervisor, campaign=campaign, status=Campaign.Status.DRAFT)
    with pytest.raises(ValidationError):
        services.campaign_create(actor=personas.supervisor, name="倒", starts_on=dt.date(2026, 3, 1),
                                 ends_on=dt.date(2026, 2, 1), indicator_system=None)


def test_a_published_edition_used_by_an_active_campaign_is_frozen_and_copied_instead(plan, personas):
    indicator = plan.system.indicators.get(code="1.1.1.1")
    with translation.override("en"), pytest.raises(ValidationError, match="copy"):
        services.indicator_update(actor=personas.supervisor, indicator=indicator, name="改", points=1, method="field",
                                  description="")
    copy = services.indicator_system_copy(actor=personas.supervisor, system=plan.system, name="2027版")
    assert copy.status == IndicatorSystem.Status.DRAFT and copy.copied_from == plan.system
    old = [(n.path, n.code, n.parent.code if n.parent else None, n.points) for n in plan.system.indicators.order_by("path")]
    new = [(n.path, n.code, n.parent.code if n.parent else None, n.points) for n in copy.indicators.order_by("path")]
    assert old == new
    assert copy.indicators.get(code="1.1.1.2").point_types.count() == 2
    services.indicator_update(actor=personas.supervisor, indicator=copy.indicators.get(code="1.1.1.1"), name="改",
                              points=4, method="material", description="")
    assert plan.system.indicators.get(code="1.1.1.1").name == "路面无垃圾"


def test_points_are_created_only_by_supervisors_over_their_unit(plan, personas, city):
    with pytest.raises(PermissionDenied):
        services.point_create(actor=personas.handler_a, name="x", point_type=plan.types["车站"], unit=city.street_a1)
    with pytest.raises(ValidationError):
        services.point_create(actor=personas.supervisor, name="x", point_type=plan.types["车站"], unit=city.department)
    point = services.point_create(actor=personas.supervisor, name="火车站", point_type=plan.types["车站"],
                                  unit=city.street_a1, department=city.department)
    services.point_set_active(actor=personas.supervisor, point=point, active=False)
    point.refresh_from_db()
    assert not point.active and point.history.count() == 2


def test_work_item_progress_submit_verify_and_return(plan, personas, city):
    item = plan.item_a
    with pytest.raises(PermissionDenied):
        services.work_item_report_progress(actor=personas.handler_b, item=item, text="x")
    with pytest.raises(PermissionDenied):
        services.work_item_report_progress(actor=personas.leader, item=item, text="x")
    upload = SimpleUploadedFile("方案.pdf", b"%PDF-1.4 test")
    report = services.work_item_report_progress(actor=personas.handler_a, item=item, text="已部署", files=[upload])
    assert report.unit == city.district_a and report.attachments.get().original_name == "方案.pdf"
    item.refresh_from_db()
    assert item.status == WorkItem.Status.IN_PROGRESS
    with pytest.raises(Conflict):
        services.work_item_verify(actor=personas.supervisor, item=item, accept=True)
    services.work_item_submit(actor=personas.head_a, item=item, text="完成")
    with pytest.raises(Conflict):
        services.work_item_submit(actor=personas.head_a, item=item, text="again")
    with pytest.raises(PermissionDenied):
        services.work_item_verify(actor=personas.handler_a, item=item, accept=True)
    with pytest.raises(ValidationError):
        services.work_item_verify(actor=personas.supervisor, item=item, accept=False, text="")
    services.work_item_verify(actor=personas.supervisor, item=item, accept=False, text="材料不全")
    item.refresh_from_db()
    assert item.status == WorkItem.Status.IN_PROGRESS and item.submitted_at is None
    services.work_item_submit(actor=personas.handler_a, item=item, text="补齐")
    services.work_item_verify(actor=personas.supervisor, item=item, accept=True)
    item.refresh_from_db()
    assert item.status == WorkItem.Status.VERIFIED and item.verified_by == personas.supervisor
    kinds = list(item.progress_reports.values_list("kind", flat=True))
    assert kinds == ["progress", "submission", "return", "submission", "verification"]
    assert item.history.filter(history_user=personas.supervisor).exists()


def test_cooperating_units_report_progress_but_only_the_lead_submits(plan, personas):
    item = plan.item_b_with_a  # led by B, street A1 cooperates
    report = services.work_item_report_progress(actor=personas.handler_a, item=item, text="配合完成")
    assert report.kind == ProgressReport.Kind.PROGRESS
    with pytest.raises(PermissionDenied):
        services.work_item_submit(actor=personas.handler_a, item=item, text="")
    assert item.is_overdue(dt.date.today())


def test_work_item_indicator_must_belong_to_the_campaign_edition(plan, personas, city):
    other = services.indicator_system_copy(actor=personas.supervisor, system=plan.system, name="别的版本")
    with pytest.raises(ValidationError):
        services.work_item_create(actor=personas.supervisor, campaign=plan.campaign, title="x", lead_unit=city.district_a,
                                  deadline=dt.date(2026, 6, 1), indicator=other.indicators.first())
    with pytest.raises(ValidationError):
        services.work_item_create(actor=personas.supervisor, campaign=plan.campaign, title="x", lead_unit=city.district_a,
                                  deadline=dt.date(2026, 6, 1), cooperating_units=[city.district_a])
