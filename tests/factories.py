"""Factories for test data. Units are created through the tree API so their
paths are real; ``make_unit`` is the one way tests build the organisation."""

import factory

from campaigns.models import Membership, Unit, User

PASSWORD = "Test-password-2026"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Faker("name", locale="zh_CN")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.invalid")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


_codes = iter(range(1, 10**9))


def make_unit(parent: Unit | None = None, *, kind: str | None = None, name: str | None = None,
              code: str | None = None, population: int | None = None) -> Unit:
    n = next(_codes)
    kind = kind or {None: Unit.Kind.CITY, Unit.Kind.CITY: Unit.Kind.DISTRICT, Unit.Kind.DISTRICT: Unit.Kind.STREET,
                    Unit.Kind.STREET: Unit.Kind.COMMUNITY, Unit.Kind.COMMUNITY: Unit.Kind.GRID}[parent.kind if parent else None]
    unit = Unit(code=code or f"U{n:05d}", name=name or f"单位{n}", kind=kind, population=population)
    if parent is None:
        return Unit.objects.add_root(instance=unit)
    parent.refresh_from_db()
    return Unit.objects.add_child(parent, instance=unit)


def make_member(unit: Unit, role: str, username: str | None = None, **user_fields) -> User:
    user = UserFactory(username=username, **user_fields) if username else UserFactory(**user_fields)
    Membership.objects.create(user=user, unit=unit, role=role)
    return user
