"""Demo data: a plausible (fictional) city with its districts, streets,
communities, grid cells and departments, and one account per role.

Re-runnable: units are matched by code and users by username, so running it
again creates nothing twice. Other apps add their demo data through
``campaigns.demo.register``.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from campaigns import demo, services
from campaigns.models import Membership, Unit, User

DEMO_PASSWORD = "Civportal-2026"

CITY = ("MZ", "明州市", 3_200_000)
DISTRICTS = [
    ("MZ01", "东湖区", 820_000),
    ("MZ02", "西江区", 760_000),
    ("MZ03", "南山区", 540_000),
    ("MZ04", "北城区", 610_000),
]
STREETS = ["人民路街道", "解放街道", "新华街道", "和平街道", "建设街道", "文化街道",
           "胜利街道", "光明街道", "朝阳街道", "幸福街道", "团结街道", "振兴街道"]
COMMUNITIES = ["春晖社区", "锦绣社区", "丽园社区", "翠湖社区", "长青社区", "安居社区", "康乐社区", "育才社区",
               "滨江社区", "清风社区", "明德社区", "新村社区", "桂花社区", "阳光社区", "和谐社区", "民主社区",
               "红星社区", "东升社区", "青云社区", "广场社区", "百合社区", "文昌社区", "金桥社区", "望湖社区",
               "花园社区", "书院社区", "双桥社区", "临河社区", "石榴社区", "振华社区", "梧桐社区", "东门社区",
               "西门社区", "南苑社区", "北苑社区", "中山社区"]
DEPARTMENTS = [
    ("MZ-CGJ", "市城市管理局"), ("MZ-JJZD", "市公安局交警支队"), ("MZ-SCJG", "市市场监督管理局"),
    ("MZ-ZJJ", "市住房和城乡建设局"), ("MZ-STHJ", "市生态环境局"), ("MZ-JTYS", "市交通运输局"),
    ("MZ-WJW", "市卫生健康委员会"), ("MZ-JYJ", "市教育局"), ("MZ-WMB", "市文明办"),
]

USERS = [
    # username, display name, unit code, role, title
    ("supervisor", "王督查", "MZ", Membership.Role.SUPERVISOR, "创城办督查科科长"),
    ("inspector", "李测评", "MZ", Membership.Role.INSPECTOR, "创城办测评员"),
    ("leader", "赵包保", "MZ01", Membership.Role.LEADER, "东湖区包保市领导"),
    ("head_a", "陈主任", "MZ01", Membership.Role.HEAD, "东湖区创城办主任"),
    ("handler_a", "刘经办", "MZ01", Membership.Role.HANDLER, "东湖区创城办经办人"),
    ("handler_b", "周经办", "MZ02", Membership.Role.HANDLER, "西江区创城办经办人"),
    ("handler_cgj", "孙经办", "MZ-CGJ", Membership.Role.HANDLER, "市城管局经办人"),
]


class Command(BaseCommand):
    help = "Load the demo city, its units and one account per role (re-runnable)."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="Do not print the accounts.")

    @transaction.atomic
    def handle(self, *args, quiet=False, **options):
        admin = self._user("admin", "系统管理员", superuser=True)
        units = self._units(admin)
        for username, name, code, role, title in USERS:
            user = self._user(username, name)
            if not Membership.objects.filter(user=user, unit=units[code], role=role, active=True).exists():
                services.membership_create(actor=admin, user=user, unit=units[code], role=role, title=title)
        for loader in demo.loaders:
            loader(admin=admin, stdout=self.stdout)
        if not quiet:
            self.stdout.write(self.style.SUCCESS(f"Demo city loaded: {Unit.objects.count()} units."))
            self.stdout.write(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
            self.stdout.write("  admin        superuser")
            for username, name, code, role, _title in USERS:
                self.stdout.write(f"  {username:<12} {name} · {units[code].name} · {role}")

    def _user(self, username: str, name: str, superuser: bool = False) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, display_name=name, is_superuser=superuser, is_staff=superuser,
                        email=f"{username}@example.invalid")
            user.set_password(DEMO_PASSWORD)
            user.save()
        return user

    def _units(self, admin: User) -> dict[str, Unit]:
        existing = {unit.code: unit for unit in Unit.objects.all()}

        def ensure(parent, code, name, kind, population=None):
            unit = existing.get(code)
            if unit is None:
                unit = services.unit_create(actor=admin, parent=parent, code=code, name=name, kind=kind,
                                            population=population)
                existing[code] = unit
            return unit

        city = ensure(None, CITY[0], CITY[1], Unit.Kind.CITY, CITY[2])
        street_names = iter(STREETS)
        community_names = iter(COMMUNITIES)
        for code, name, population in DISTRICTS:
            district = ensure(city, code, name, Unit.Kind.DISTRICT, population)
            for s in range(1, 4):
                street = ensure(district, f"{code}{s:02d}", next(street_names), Unit.Kind.STREET, population // 3)
                for c in range(1, 4):
                    community = ensure(street, f"{street.code}{c:02d}", next(community_names),
                                       Unit.Kind.COMMUNITY, population // 9)
                    for g in range(1, 3):
                        ensure(community, f"{community.code}{g:02d}", f"{community.name}第{g}网格", Unit.Kind.GRID,
                               population // 18)
        for code, name in DEPARTMENTS:
            ensure(city, code, name, Unit.Kind.DEPARTMENT)
        return existing
