"""The default finding categories (问题类别) every installation starts with.
Plain data, also used by the seeding migration; supervisors edit the rows
afterwards (the seed never overwrites an existing code)."""

# (group code, group name, [(code, name, default severity, deduction, engineering), ...])
DEFAULT_CATEGORIES = [
    ("HJWS", "环境卫生", [
        ("HJWS-01", "垃圾乱堆乱放", "moderate", "2", False),
        ("HJWS-02", "卫生死角、积存垃圾", "minor", "1", False),
        ("HJWS-03", "公厕脏乱", "moderate", "1", False),
        ("HJWS-04", "垃圾桶满溢、破损", "minor", "1", False),
        ("HJWS-05", "污水横流、路面油污", "moderate", "2", False),
    ]),
    ("GGZX", "公共秩序", [
        ("GGZX-01", "机动车、非机动车乱停乱放", "minor", "1", False),
        ("GGZX-02", "占道经营、出店经营", "moderate", "2", False),
        ("GGZX-03", "流动摊贩", "minor", "1", False),
        ("GGZX-04", "交通秩序混乱", "moderate", "2", False),
    ]),
    ("SRJS", "市容建设", [
        ("SRJS-01", "乱贴乱画、小广告", "minor", "1", False),
        ("SRJS-02", "乱搭乱建", "severe", "3", True),
        ("SRJS-03", "乱拉乱挂、乱晾晒", "minor", "1", False),
        ("SRJS-04", "店招广告破损", "moderate", "1", False),
        ("SRJS-05", "建筑立面破损", "moderate", "2", True),
    ]),
    ("JCSS", "基础设施", [
        ("JCSS-01", "道路、人行道破损", "moderate", "2", True),
        ("JCSS-02", "井盖缺失、破损", "severe", "3", False),
        ("JCSS-03", "路灯不亮", "minor", "1", False),
        ("JCSS-04", "绿化缺损、黄土裸露", "minor", "1", False),
    ]),
    ("GYXC", "公益宣传", [
        ("GYXC-01", "公益广告缺失或不足", "moderate", "2", False),
        ("GYXC-02", "宣传品破损、陈旧", "minor", "1", False),
        ("GYXC-03", "核心价值观宣传不到位", "moderate", "1", False),
    ]),
    ("XFAQ", "消防安全", [
        ("XFAQ-01", "消防通道堵塞", "severe", "3", False),
        ("XFAQ-02", "消防设施缺失、损坏", "severe", "3", False),
        ("XFAQ-03", "电动车违规停放充电", "severe", "2", False),
    ]),
    ("FWSS", "服务设施", [
        ("FWSS-01", "无障碍设施缺失、被占", "moderate", "2", True),
        ("FWSS-02", "便民设施损坏", "minor", "1", False),
        ("FWSS-03", "窗口服务不规范", "moderate", "1", False),
    ]),
    ("WMXW", "文明行为", [
        ("WMXW-01", "随地吐痰、乱扔垃圾", "minor", "0.5", False),
        ("WMXW-02", "行人闯红灯、不走斑马线", "minor", "0.5", False),
        ("WMXW-03", "不文明养犬", "minor", "0.5", False),
        ("WMXW-04", "公共场所吸烟、大声喧哗", "minor", "0.5", False),
    ]),
]


def seed_default_categories(FindingCategory) -> None:
    """Create the default taxonomy; codes that exist are left as the office edited them.
    Takes the model class (the data migration passes its historical model)."""
    from decimal import Decimal

    existing = set(FindingCategory.objects.values_list("code", flat=True))
    for g, (group_code, group_name, children) in enumerate(DEFAULT_CATEGORIES, start=1):
        group = FindingCategory.objects.filter(code=group_code).first()
        if group is None:
            group = FindingCategory.objects.create(code=group_code, name=group_name, sort_order=g * 100,
                                                   deduction=Decimal(1))
        rows = [
            FindingCategory(code=code, name=name, group=group, default_severity=severity, deduction=Decimal(deduction),
                            engineering=engineering, sort_order=g * 100 + i)
            for i, (code, name, severity, deduction, engineering) in enumerate(children, start=1)
            if code not in existing
        ]
        FindingCategory.objects.bulk_create(rows)
