"""An edition for checklist tests: criteria for 农贸市场 (the loop world's point type), for
背街小巷 and for no point type (material review), under two sections."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from campaigns.models import Indicator, IndicatorSystem, PointType
from campaigns.planning.indicator_io import Node, store_nodes


def edition(w) -> SimpleNamespace:
    market = w.point_type
    lane, _ = PointType.objects.get_or_create(code="T-LANE", defaults={"name": "背街小巷"})
    system = IndicatorSystem.objects.create(name="测试测评体系", status=IndicatorSystem.Status.PUBLISHED)
    d = Decimal
    nodes = [
        Node(0, "1", "", "公共环境", d(0), ""),
        Node(0, "1.1", "1", "农贸市场", d(0), ""),
        Node(0, "1.1.1", "1.1", "农贸市场环境", d(0), ""),
        Node(0, "1.1.1.1", "1.1.1", "市场内外环境整洁", d("2"), "field", [market]),
        Node(0, "1.1.1.2", "1.1.1", "划行归市、摊位整齐", d("1"), "field", [market]),
        Node(0, "1.1.1.3", "1.1.1", "公厕干净无异味", d("1.5"), "field", [market]),
        Node(0, "1.2", "1", "背街小巷", d(0), ""),
        Node(0, "1.2.1", "1.2", "背街小巷环境", d(0), ""),
        Node(0, "1.2.1.1", "1.2.1", "路面平整无坑洼", d("1"), "field", [lane]),
        Node(0, "2", "", "诚信建设", d(0), ""),
        Node(0, "2.1", "2", "诚信宣传", d(0), ""),
        Node(0, "2.1.1", "2.1", "诚信宣传要求", d(0), ""),
        Node(0, "2.1.1.1", "2.1.1", "设有诚信经营公示栏", d("0.5"), "field", [market, lane]),
        Node(0, "2.1.1.2", "2.1.1", "诚信制度材料齐全", d("1"), "material", []),
    ]
    store_nodes(system, nodes)
    w.campaign.indicator_system = system
    w.campaign.save(update_fields=["indicator_system"])
    by_code = {i.code: i for i in Indicator.objects.filter(system=system)}
    return SimpleNamespace(system=system, lane=lane, by_code=by_code,
                           market_codes=["1.1.1.1", "1.1.1.2", "1.1.1.3", "2.1.1.1"])
