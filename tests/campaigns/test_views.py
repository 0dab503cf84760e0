from campaigns.models import Membership, Unit


def test_supervisor_creates_edits_moves_and_deactivates_through_pages(personas, city, login):
    client = login(personas.supervisor)
    response = client.post(f"/units/new/?parent={city.street_a1.pk}",
                           {"name": "锦绣社区", "code": "C-A-1-2", "kind": "community", "population": "5000"})
    assert response.status_code == 302
    unit = Unit.objects.get(code="C-A-1-2")
    response = client.post(f"/units/{unit.pk}/edit/", {"name": "锦绣花园社区", "code": "C-A-1-2", "kind": "community"})
    assert response.status_code == 302
    unit.refresh_from_db()
    assert unit.name == "锦绣花园社区" and unit.population is None
    response = client.post(f"/units/{unit.pk}/move/", {"parent": city.street_b1.pk})
    assert response.status_code == 302
    assert Unit.objects.get(pk=unit.pk).parent_unit() == city.street_b1
    response = client.post(f"/units/{unit.pk}/active/", {"active": "0"})
    assert response.status_code == 302
    assert not Unit.objects.get(pk=unit.pk).active


def test_create_form_shows_service_errors(personas, city, login):
    client = login(personas.supervisor)
    response = client.post(f"/units/new/?parent={city.city.pk}", {"name": "网格", "code": "C-A", "kind": "grid"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "不能隶属于" in body or "已存在" in body or "already exists" in body


def test_supervisor_manages_members_through_pages(personas, city, login):
    client = login(personas.supervisor)
    response = client.post(f"/units/{city.street_b1.pk}/members/",
                           {"username": personas.outsider.username, "role": "head", "title": "街道主任"})
    assert response.status_code == 302
    membership = Membership.objects.get(user=personas.outsider)
    page = client.get(f"/units/{city.street_b1.pk}/").content.decode()
    assert personas.outsider.username in page and "街道主任" in page
    response = client.post(f"/memberships/{membership.pk}/end/")
    assert response.status_code == 302
    membership.refresh_from_db()
    assert not membership.active


def test_unknown_username_is_a_clear_message(personas, city, login):
    client = login(personas.supervisor)
    response = client.post(f"/units/{city.street_b1.pk}/members/", {"username": "nobody", "role": "head"}, follow=True)
    assert "没有该用户名的有效用户" in response.content.decode()
    assert not Membership.objects.filter(unit=city.street_b1).exists()


def test_tree_page_shows_counts(personas, city, login):
    response = login(personas.supervisor).get("/units/tree/", {"root": city.city.pk})
    units = {u.code: u for u in response.context["units"]}
    assert set(units) == {"C-A", "C-B", "C-CGJ"}
    assert units["C-A"].descendant_count == 3 and units["C-B"].descendant_count == 1
    assert units["C-A"].member_count == 3  # leader, head, handler


def test_bad_query_values_do_not_500(personas, city, login):
    client = login(personas.supervisor)
    for params in ({"root": "abc"}, {"root": "99999999999999999999"}):
        assert client.get("/units/tree/", params).status_code in (200, 302, 404)
    assert client.get("/units/", {"within": "\x00"}).status_code == 400
    for params in ({"within": "x" * 500}, {"kind": "nope"}, {"page": "-3"}, {"per_page": "x"}, {"q": "😀" * 100}):
        assert client.get("/units/", params).status_code == 200
    assert client.get("/units/new/", {"parent": "abc"}).status_code == 200
