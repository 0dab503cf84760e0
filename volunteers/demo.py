"""Demo volunteers for ``manage.py load_demo``: a few teams, ~300 volunteers
across the demo communities, ~20 activities (past ones with attendance and
approved hours, upcoming ones with sign-ups) and one volunteer account.

Re-runnable: volunteers are keyed by phone, teams by unit and name,
activities by unit and title; only what is missing is inserted, in bulk."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from campaigns.models import Unit, User

from . import tally
from .models import Activity, HourEntry, Signup, Team, Volunteer

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
         "霞", "平", "刚", "桂英", "建华", "海燕", "志强", "晓东", "春梅", "国庆", "红梅", "文博"]
SKILLS = ["", "", "急救", "摄影", "手语", "驾驶", "法律咨询", "心理疏导", "理发", "家电维修"]
TEAMS = [
    ("MZ010101", "春晖社区文明劝导队"),
    ("MZ01", "东湖区学雷锋志愿服务队"),
    ("MZ02", "西江区交通劝导志愿服务队"),
    ("MZ03", "南山区环境清洁志愿服务队"),
]
ACTIVITIES = [
    # (unit code, title, category, address, days from today, start hour, hours, capacity)
    ("MZ01", "人民路口文明交通劝导", Activity.Category.TRAFFIC, "人民路与解放路交叉口", -52, 7, 2, 12),
    ("MZ0101", "背街小巷环境清洁日", Activity.Category.CLEANING, "人民路街道幸福巷", -45, 8, 3, 20),
    ("MZ010101", "春晖社区敬老助餐", Activity.Category.ELDERLY, "春晖社区日间照料中心", -40, 10, 2, 8),
    ("MZ02", "西江广场文明劝导", Activity.Category.PERSUASION, "西江广场", -35, 9, 3, 15),
    ("MZ0201", "农贸市场秩序劝导", Activity.Category.PERSUASION, "解放路农贸市场", -30, 7, 2, 10),
    ("MZ03", "南山公园垃圾清捡", Activity.Category.CLEANING, "南山公园东门", -26, 8, 3, 25),
    ("MZ01", "学雷锋便民服务集市", Activity.Category.LEI_FENG, "东湖区新时代文明实践中心", -21, 9, 4, 20),
    ("MZ04", "北城公交站台文明引导", Activity.Category.TRAFFIC, "北城客运站公交站台", -17, 7, 2, 12),
    ("MZ0102", "小区楼道小广告清理", Activity.Category.CLEANING, "新华街道丽园小区", -12, 14, 2, 15),
    ("MZ02", "西江区助残探访", Activity.Category.ELDERLY, "西江区残疾人之家", -8, 14, 3, 8),
    ("MZ0301", "斑马线礼让宣传", Activity.Category.TRAFFIC, "和平路小学门口", -5, 7, 1, 10),
    ("MZ01", "滨江步道文明劝导", Activity.Category.PERSUASION, "滨江步道", -2, 18, 2, 12),
    ("MZ010101", "春晖社区周末大扫除", Activity.Category.CLEANING, "春晖社区", 2, 8, 3, 20),
    ("MZ01", "人民路口早高峰交通劝导", Activity.Category.TRAFFIC, "人民路与解放路交叉口", 3, 7, 2, 12),
    ("MZ02", "西江夜市文明劝导", Activity.Category.PERSUASION, "西江夜市", 4, 19, 2, 15),
    ("MZ03", "南山区敬老院陪伴", Activity.Category.ELDERLY, "南山区敬老院", 6, 9, 3, 10),
    ("MZ0401", "北城农贸市场环境整治", Activity.Category.CLEANING, "北城农贸市场", 8, 7, 3, 20),
    ("MZ04", "北城学雷锋义剪", Activity.Category.LEI_FENG, "北城区新时代文明实践站", 10, 9, 3, 8),
    ("MZ0101", "共享单车规范停放", Activity.Category.PERSUASION, "人民路地铁站", 12, 17, 2, 15),
    ("MZ01", "东湖区志愿服务月启动", Activity.Category.OTHER, "东湖区文化广场", 14, 9, 2, 30),
]
VOLUNTEER_ACCOUNT = "volunteer"


def _phone(n: int) -> str:
    return f"1990000{n:04d}"


def load_demo(*, admin: User, stdout) -> None:
    rng = random.Random(2026)
    units = {u.code: u for u in Unit.objects.filter(code__startswith="MZ")}
    communities = sorted((u for u in units.values() if u.kind == Unit.Kind.COMMUNITY), key=lambda u: u.path)
    if not communities:
        return
    now = timezone.now()
    today = timezone.localdate()

    teams = {}
    for code, name in TEAMS:
        unit = units.get(code)
        if unit is not None:
            teams[code], _created = Team.objects.get_or_create(unit=unit, name=name)

    existing_phones = set(Volunteer.objects.filter(phone__startswith="1990000").values_list("phone", flat=True))
    new_volunteers = []
    for n in range(300):
        phone = _phone(n)
        if phone in existing_phones:
            continue
        community = communities[n % len(communities)]
        district_code = community.code[:4]
        team = teams.get(district_code) if n % 3 == 0 else None
        if community.code == "MZ010101" and n % 2 == 0:
            team = teams.get("MZ010101", team)
        status = Volunteer.Status.APPLIED if n >= 295 else Volunteer.Status.ACTIVE
        new_volunteers.append(Volunteer(
            name=SURNAMES[n % len(SURNAMES)] + GIVEN[(n * 7) % len(GIVEN)], phone=phone, unit=community, team=team,
            gender=Volunteer.Gender.FEMALE if n % 2 else Volunteer.Gender.MALE, birth_year=1950 + (n * 13) % 55,
            skills=SKILLS[n % len(SKILLS)], status=status,
            source=Volunteer.Source.SELF if status == Volunteer.Status.APPLIED else Volunteer.Source.OFFICE,
            registered_on=today - timedelta(days=30 + n % 400),
            reviewed_by=None if status == Volunteer.Status.APPLIED else admin,
            reviewed_at=None if status == Volunteer.Status.APPLIED else now,
        ))
    if new_volunteers:
        bulk_create_with_history(new_volunteers, Volunteer, batch_size=1000, default_user=admin)
        tally.created(new_volunteers)

    # One login account for trying sign-up and QR check-in as a volunteer.
    account = User.objects.filter(username=VOLUNTEER_ACCOUNT).first()
    if account is None:
        from campaigns.management.commands.load_demo import DEMO_PASSWORD

        account = User(username=VOLUNTEER_ACCOUNT, display_name="志愿者小王", email="volunteer@example.invalid")
        account.set_password(DEMO_PASSWORD)
        account.save()
    if not Volunteer.objects.filter(user=account).exists():
        Volunteer.objects.filter(phone=_phone(0), user__isnull=True).update(user=account)
    # Leaders of the teams: their first active member.
    for team in teams.values():
        if team.leader_id is None:
            team.leader = team.members.filter(status=Volunteer.Status.ACTIVE).order_by("id").first()
            if team.leader is not None:
                team.save(update_fields=["leader", "updated_at"])

    by_district: dict[str, list[Volunteer]] = {}
    for volunteer in Volunteer.objects.filter(phone__startswith="1990000", status=Volunteer.Status.ACTIVE).select_related("unit"):
        by_district.setdefault(volunteer.unit.code[:4], []).append(volunteer)

    existing = set(Activity.objects.filter(unit__code__startswith="MZ").values_list("unit__code", "title"))
    new_activities = []
    for code, title, category, address, days, hour, hours, capacity in ACTIVITIES:
        if (code, title) in existing or code not in units:
            continue
        starts_at = timezone.make_aware(datetime.combine(today + timedelta(days=days), time(hour)))
        new_activities.append(Activity(
            unit=units[code], team=teams.get(code), title=title, category=category, address=address,
            starts_at=starts_at, ends_at=starts_at + timedelta(hours=hours), capacity=capacity,
            description=f"{title}。请穿志愿者马甲，提前10分钟到达，扫码签到。",
            status=Activity.Status.COMPLETED if days < 0 else Activity.Status.OPEN, created_by=admin,
        ))
    if not new_activities:
        return
    bulk_create_with_history(new_activities, Activity, batch_size=500, default_user=admin)
    created = list(Activity.objects.filter(title__in=[a.title for a in new_activities], unit__code__startswith="MZ",
                                      signups__isnull=True).select_related("unit"))
    signups, entries = [], []
    for activity in created:
        pool = by_district.get(activity.unit.code[:4], [])
        chosen = rng.sample(pool, min(len(pool), max(1, activity.capacity * 3 // 4)))
        for i, volunteer in enumerate(chosen):
            signup = Signup(activity=activity, volunteer=volunteer, signed_up_by=admin)
            if activity.status == Activity.Status.COMPLETED:
                if i % 9 == 8:
                    signup.status, signup.no_show_at = Signup.Status.NO_SHOW, activity.starts_at
                else:
                    signup.status = Signup.Status.ATTENDED
                    signup.checked_in_at = activity.starts_at - timedelta(minutes=rng.randint(0, 15))
                    signup.checked_out_at = activity.ends_at + timedelta(minutes=rng.randint(-20, 10))
                    signup.check_in_method = Signup.Method.QR if i % 2 else Signup.Method.ORGANISER
                    signup.checked_in_by = signup.checked_out_by = admin
                    start = max(signup.checked_in_at, activity.starts_at)
                    end = min(signup.checked_out_at, activity.ends_at)
                    signup.minutes = int((end - start).total_seconds() // 60)
            signups.append(signup)
    bulk_create_with_history(signups, Signup, batch_size=1000, default_user=admin)
    for signup in Signup.objects.filter(activity__in=created, status=Signup.Status.ATTENDED).select_related("activity"):
        entries.append(HourEntry(volunteer_id=signup.volunteer_id, activity=signup.activity, signup=signup,
                                 minutes=signup.minutes, served_at=signup.checked_in_at, approved_by=admin,
                                 approved_at=signup.activity.ends_at + timedelta(hours=1)))
    HourEntry.objects.bulk_create(entries, batch_size=1000)
    stdout.write(f"Volunteers: {len(new_volunteers)} volunteers, {len(new_activities)} activities, "
                 f"{len(signups)} sign-ups, {len(entries)} approved hour entries added.")
