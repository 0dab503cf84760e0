"""Demo planning data: the usual point types, a clearly labelled *sample*
edition (7 sections, 30 items, 100 criteria, 100 points), one active
campaign, ~200 points across the demo city and ~150 work items. Inserted in
bulk; re-running creates nothing twice."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from ..models import Campaign, Indicator, IndicatorSystem, Point, PointType, ProgressReport, Unit, WorkItem
from ..boundaries import DEMO_BOX, demo_boxes, demo_point_in
from .indicator_io import Node, store_nodes

SAMPLE_EDITION = "示例测评体系（样例数据，非官方版本）"
CAMPAIGN = "2026年度全国文明城市创建（演示）"

POINT_TYPES = [
    # code, name, weight
    ("ZCGD", "主次干道", "1.2"), ("BJXX", "背街小巷", "1.0"), ("NMSC", "农贸市场", "1.5"),
    ("LJXQ", "老旧小区", "1.2"), ("GYGC", "公园广场", "1.0"), ("CZ", "车站", "1.2"),
    ("CKDW", "窗口单位", "1.0"), ("YY", "医院", "1.0"), ("XXZB", "学校周边", "1.3"),
    ("SYDJ", "商业大街", "1.0"), ("GGCS", "公共厕所", "0.8"),
]
TYPE_DEPARTMENT = {"ZCGD": "MZ-JJZD", "BJXX": "MZ-CGJ", "NMSC": "MZ-SCJG", "XXZB": "MZ-JYJ", "YY": "MZ-WJW",
                   "CZ": "MZ-JTYS", "GGCS": "MZ-CGJ", "LJXQ": "MZ-ZJJ"}

# section -> [(item, method, point type codes)]
SECTIONS = [
    ("公共环境", [("市容环境", "field", "ZCGD、SYDJ"), ("农贸市场", "field", "NMSC"), ("老旧小区", "field", "LJXQ"),
                  ("背街小巷", "field", "BJXX"), ("公共厕所", "field", "GGCS"), ("生态环境", "material", "")]),
    ("公共秩序", [("交通秩序", "field", "ZCGD、CZ"), ("公共场所秩序", "field", "GYGC、CZ"), ("窗口服务", "field", "CKDW、YY"),
                  ("社会治安", "material", ""), ("消防安全", "field", "SYDJ、LJXQ")]),
    ("公益宣传", [("公益广告", "field", "ZCGD、GYGC、CZ"), ("新时代文明实践", "material", ""), ("网络文明", "online", ""),
                  ("文化设施", "field", "GYGC")]),
    ("志愿服务", [("志愿服务体系", "material", ""), ("志愿服务站点", "field", "CKDW、CZ、YY"),
                  ("志愿服务活动", "material", ""), ("学雷锋活动", "online", "")]),
    ("未成年人思想道德建设", [("校园周边环境", "field", "XXZB"), ("未成年人活动场所", "field", "GYGC"),
                            ("家庭教育", "material", "")]),
    ("诚信建设", [("社会信用", "online", ""), ("诚信宣传", "field", "SYDJ、NMSC"), ("窗口诚信", "field", "CKDW"),
                  ("政务诚信", "material", "")]),
    ("群众满意度与文明素养", [("问卷调查", "survey", ""), ("市民文明素养", "field", "ZCGD、GYGC"),
                            ("文明餐桌", "field", "SYDJ"), ("移风易俗", "survey", "")]),
]
CRITERIA = ["设施完好、运行正常", "管理制度健全、责任落实到人", "无明显脏乱差问题", "群众反映问题及时整改到位"]
POINT_CYCLE = [Decimal("1.5"), Decimal("0.5"), Decimal("1"), Decimal("1")]
POINT_SUFFIX = {"ZCGD": "大道", "BJXX": "巷", "NMSC": "农贸市场", "LJXQ": "小区", "GYGC": "广场", "CZ": "公交站",
                "CKDW": "便民服务中心", "YY": "社区卫生服务中心", "XXZB": "小学周边", "SYDJ": "商业街", "GGCS": "公厕"}


def load(*, admin, stdout=None) -> None:
    types = _point_types()
    system = _edition(admin)
    today = timezone.localdate()
    campaign = Campaign.objects.filter(name=CAMPAIGN).first()
    if campaign is None:
        campaign = Campaign.objects.create(
            # In January the demo's last complete month (December) still lies in the campaign.
            name=CAMPAIGN, starts_on=min(dt.date(today.year, 1, 1), (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)), ends_on=dt.date(today.year, 12, 31),
            status=Campaign.Status.ACTIVE, indicator_system=system, created_by=admin,
            description="演示用创建周期：按示例测评体系分解任务、开展测评。",
        )
    _points(admin, types)
    _work_items(admin, campaign, today)
    if stdout is not None:
        stdout.write(
            f"Planning demo: {Indicator.objects.filter(system=system).count()} indicators, "
            f"{Point.objects.count()} points, {campaign.work_items.count()} work items."
        )


def _point_types() -> dict[str, PointType]:
    existing = {pt.code: pt for pt in PointType.objects.all()}
    missing = [PointType(code=c, name=n, weight=Decimal(w)) for c, n, w in POINT_TYPES if c not in existing]
    if missing:
        bulk_create_with_history(missing, PointType)
    return {pt.code: pt for pt in PointType.objects.all()}


def _edition(admin) -> IndicatorSystem:
    system = IndicatorSystem.objects.filter(name=SAMPLE_EDITION).first()
    if system is not None:
        return system
    system = IndicatorSystem.objects.create(
        name=SAMPLE_EDITION, status=IndicatorSystem.Status.PUBLISHED, is_sample=True, created_by=admin,
        effective_from=dt.date(2026, 1, 1),
        description="样例数据：结构仿照全国文明城市测评体系（版块→测评项目→测评内容→测评标准），内容为演示编写，不是官方指标。",
    )
    types = {pt.code: pt for pt in PointType.objects.all()}
    nodes, n = [], 0
    for s, (section, items) in enumerate(SECTIONS, start=1):
        section_node = Node(0, f"{s}", "", section, Decimal(0), "")
        nodes.append(section_node)
        for i, (item, method, type_codes) in enumerate(items, start=1):
            item_node = Node(0, f"{s}.{i}", f"{s}", item, Decimal(0), "")
            content_node = Node(0, f"{s}.{i}.1", f"{s}.{i}", f"{item}工作要求", Decimal(0), "")
            nodes += [item_node, content_node]
            count = 4 if (s + i) % 3 == 0 else 3
            for c in range(1, count + 1):
                points = POINT_CYCLE[n % 4]
                n += 1
                pts = [types[code] for code in type_codes.split("、") if code]
                nodes.append(Node(0, f"{s}.{i}.1.{c}", f"{s}.{i}.1", f"{item}{CRITERIA[c - 1]}", points, method, pts))
                for upper in (section_node, item_node, content_node):
                    upper.points += points
    # Top up to exactly 100 points on the last criteria (the count varies with the layout above).
    criteria = [node for node in nodes if node.code.count(".") == 3]
    missing = Decimal(100) - sum(node.points for node in criteria)
    criteria[-1].points += missing
    for node in nodes:
        if node.code in {criteria[-1].code.rsplit(".", k)[0] for k in (1, 2, 3)}:
            node.points += missing
    store_nodes(system, nodes)
    return system


def _points(admin, types: dict[str, PointType]) -> None:
    existing = set(Point.objects.filter(code__startswith="MZP").values_list("code", flat=True))
    communities = list(Unit.objects.filter(kind=Unit.Kind.COMMUNITY, code__startswith="MZ").order_by("path"))
    departments = {u.code: u for u in Unit.objects.filter(kind=Unit.Kind.DEPARTMENT)}
    if not communities:
        return
    codes = [c for c, _n, _w in POINT_TYPES]
    # Each point lies inside its community's outline on the map (campaigns.boundaries).
    boxes = demo_boxes(list(Unit.objects.filter(code__startswith="MZ")))
    spots = [demo_point_in(boxes.get(communities[n % len(communities)].code, DEMO_BOX), n) for n in range(200)]
    new = []
    for n in range(200):
        code = f"MZP{n + 1:04d}"
        if code in existing:
            continue
        community = communities[n % len(communities)]
        type_code = codes[n % len(codes)]
        new.append(Point(
            code=code, name=f"{community.name[:-2]}{POINT_SUFFIX[type_code]}{n // len(codes) + 1}号",
            point_type=types[type_code], unit=community, department=departments.get(TYPE_DEPARTMENT.get(type_code, "")),
            address=f"明州市{community.name}{(n * 7) % 180 + 1}号",
            latitude=Decimal(f"{spots[n][0]:.6f}"), longitude=Decimal(f"{spots[n][1]:.6f}"),
        ))
    if new:
        bulk_create_with_history(new, Point, batch_size=500, default_user=admin)


def _work_items(admin, campaign: Campaign, today: dt.date) -> None:
    if campaign.work_items.exists():
        return
    criteria = list(Indicator.objects.filter(system_id=campaign.indicator_system_id, level=Indicator.Level.CRITERION))
    leads = list(Unit.objects.filter(kind__in=[Unit.Kind.DISTRICT, Unit.Kind.DEPARTMENT], code__startswith="MZ")
                 .order_by("path"))
    if not criteria or not leads:
        return
    statuses = [WorkItem.Status.NOT_STARTED, WorkItem.Status.IN_PROGRESS, WorkItem.Status.IN_PROGRESS,
                WorkItem.Status.SUBMITTED, WorkItem.Status.VERIFIED]
    items = []
    for n in range(150):
        criterion = criteria[n % len(criteria)]
        status = statuses[n % len(statuses)]
        items.append(WorkItem(
            campaign=campaign, indicator=criterion, title=f"落实“{criterion.name}”", lead_unit=leads[n % len(leads)],
            description="按测评标准逐项整改，建立工作台账，按时报送进展。",
            deadline=today + dt.timedelta(days=(n * 11) % 150 - 40), status=status, created_by=admin,
            submitted_at=timezone.now() if status in (WorkItem.Status.SUBMITTED, WorkItem.Status.VERIFIED) else None,
            verified_at=timezone.now() if status == WorkItem.Status.VERIFIED else None,
            verified_by=admin if status == WorkItem.Status.VERIFIED else None,
        ))
    items = bulk_create_with_history(items, WorkItem, batch_size=500, default_user=admin)
    items = list(campaign.work_items.order_by("id"))
    through = WorkItem.cooperating_units.through
    through.objects.bulk_create([
        through(workitem_id=item.pk, unit_id=leads[(n + 3) % len(leads)].pk)
        for n, item in enumerate(items) if leads[(n + 3) % len(leads)].pk != item.lead_unit_id
    ])
    ProgressReport.objects.bulk_create([
        ProgressReport(work_item=item, kind=ProgressReport.Kind.PROGRESS, unit_id=item.lead_unit_id, author=admin,
                       text="已制定整改方案，正在组织实施。")
        for item in items if item.status != WorkItem.Status.NOT_STARTED
    ])
