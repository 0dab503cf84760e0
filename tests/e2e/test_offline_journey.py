"""Offline field capture (issue 18, acceptance 7; docs/offline.md): an inspector
opens the finding form online, loses the network, records a finding with a
photo, sees it waiting in the header, and it arrives exactly once when the
network is back; sending the same draft again changes nothing."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from campaigns.models import Indicator, IndicatorSystem
from campaigns.planning.indicator_io import Node, store_nodes
from inspections.models import Finding, FindingPhoto, VisitCheck
from tests.factories import PASSWORD

from . import seed
from .conftest import PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def field(scope, label: str):
    return scope.get_by_label(re.compile(rf"^{re.escape(label)}(\s*\*)?$"))


def kept_pages(page) -> list[str]:
    return page.evaluate("""async () => {
        const cache = await caches.open("civportal-pages");
        return (await cache.keys()).map(r => new URL(r.url).pathname);
    }""")


def wait_until_kept(page, path: str):
    """Until the service worker controls the page and has kept ``path`` for offline use."""
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    for _ in range(100):
        if path in kept_pages(page):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{path} was not kept: {kept_pages(page)}")


def market_edition(w) -> list[Indicator]:
    """Three criteria of an edition that apply to 农贸市场 (the seed's market point)."""
    market = w.points.market.point_type
    system = IndicatorSystem.objects.create(name="测评体系（离线测试）", status=IndicatorSystem.Status.PUBLISHED)
    store_nodes(system, [
        Node(0, "1", "", "公共环境", Decimal(0), ""),
        Node(0, "1.1", "1", "农贸市场", Decimal(0), ""),
        Node(0, "1.1.1", "1.1", "农贸市场环境", Decimal(0), ""),
        Node(0, "1.1.1.1", "1.1.1", "市场内外环境整洁", Decimal(2), "field", [market]),
        Node(0, "1.1.1.2", "1.1.1", "划行归市、摊位整齐", Decimal(1), "field", [market]),
        Node(0, "1.1.1.3", "1.1.1", "公厕干净无异味", Decimal("1.5"), "field", [market]),
    ])
    w.campaign.indicator_system = system
    w.campaign.save(update_fields=["indicator_system"])
    return list(Indicator.objects.filter(system=system, level=Indicator.Level.CRITERION).order_by("path"))


def test_a_checklist_filled_offline_arrives_once_with_its_finding(journey, city, personas, tmp_path):
    w = seed.world(city, personas)
    criteria = market_edition(w)
    visit = w.visit["market"]
    findings_before = Finding.objects.count()
    picture = seed.photo_file(tmp_path, "公厕.jpg", colour=(90, 120, 140))
    j = journey(PHONE, service_workers="allow")
    j.login(personas.inspector.username, PASSWORD)
    path = f"/visits/{visit.pk}/checks/"
    j.goto(path)
    page, main = j.page, j.page.locator("main")
    wait_until_kept(page, path)

    j.context.set_offline(True)
    response = page.reload()
    assert response is not None and response.from_service_worker
    failed, *met = criteria
    main.locator(f"#check-{failed.pk} input[value=failed]").check()
    main.locator(f"select[name=c-{failed.pk}-category]").select_option(label="环境卫生 › 垃圾桶满溢、破损")
    main.locator(f"textarea[name=c-{failed.pk}-note]").fill("市场西侧垃圾桶满溢（无信号时检查）")
    main.locator(f"input[name=c-{failed.pk}-photos]").set_input_files(str(picture))
    for criterion in met:
        main.locator(f"#check-{criterion.pk} input[value=met]").check()
    main.get_by_role("button", name="保存检查表", exact=True).click()
    main.get_by_role("status").filter(has_text="检查表已保存在本机").wait_for()
    page.locator("#outbox-badge").filter(has_text="1条未发送").wait_for()
    assert not VisitCheck.objects.filter(visit=visit).exists() and Finding.objects.count() == findings_before
    j.screenshot("phone-offline-checklist")
    page.evaluate("async () => { window.keptDraft = (await CivOutbox.all())[0]; }")

    j.context.set_offline(False)
    page.locator("#outbox-badge").wait_for(state="hidden")
    checks = {c.indicator_id: c for c in VisitCheck.objects.filter(visit=visit)}
    assert {pk: c.result for pk, c in checks.items()} == {
        failed.pk: "failed", met[0].pk: "met", met[1].pk: "met"}
    finding = checks[failed.pk].finding
    assert (finding.indicator, finding.visit, finding.description) == (failed, visit, "市场西侧垃圾桶满溢（无信号时检查）")
    assert FindingPhoto.objects.filter(finding=finding).count() == 1
    assert Finding.objects.count() == findings_before + 1

    # The same request once more: answered as already received; nothing changes.
    answer = page.evaluate("""async () => {
        const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
        return await CivOutbox.send(window.keptDraft, token);
    }""")
    assert (answer["outcome"], answer["result"]["created"]) == ("sent", False)
    assert Finding.objects.count() == findings_before + 1
    assert VisitCheck.objects.filter(visit=visit).count() == 3
    assert FindingPhoto.objects.filter(finding=finding).count() == 1


def test_a_finding_recorded_offline_arrives_once_when_the_network_is_back(journey, city, personas, tmp_path):
    w = seed.world(city, personas)
    before = Finding.objects.count()
    picture = seed.photo_file(tmp_path, "地下室照片.jpg", colour=(120, 110, 90))
    j = journey(PHONE, service_workers="allow")
    j.login(personas.inspector.username, PASSWORD)
    j.goto("/findings/new/")
    page, main = j.page, j.page.locator("main")
    # The service worker takes the page over and keeps the form for offline use.
    wait_until_kept(page, "/findings/new/")
    badge = page.locator("#outbox-badge")
    assert badge.is_hidden()

    j.context.set_offline(True)
    response = page.reload()
    assert response is not None and response.from_service_worker
    assert main.get_by_role("heading", level=1).inner_text() == "登记问题"
    assert page.evaluate("() => navigator.onLine") is False

    field(main, "点位").select_option(str(w.points.market.pk))
    field(main, "类别").select_option(label="垃圾桶满溢、破损")
    field(main, "说明").fill("地下菜场通道垃圾桶满溢（无信号时登记）")
    field(main, "整改前照片").set_input_files(str(picture))
    main.get_by_role("button", name="保存问题", exact=True).click()
    main.get_by_role("status").filter(has_text="已保存在本机").wait_for()
    badge.filter(has_text="1条未发送").wait_for()
    assert page.url.endswith("/findings/new/")  # still on the form, emptied for the next finding
    assert field(main, "说明").input_value() == ""
    assert Finding.objects.count() == before
    j.screenshot("phone-offline-outbox")
    # Keep a copy of the draft (fields and photo Blob) to send it once more later.
    page.evaluate("async () => { window.keptDraft = (await CivOutbox.all())[0]; }")
    client_id = page.evaluate("() => window.keptDraft.id")

    j.context.set_offline(False)  # the "online" event sends the outbox
    badge.wait_for(state="hidden")
    assert Finding.objects.count() == before + 1
    finding = Finding.objects.get(client_id=client_id)
    assert (finding.reporter, finding.point, finding.category.code, finding.description) == (
        personas.inspector, w.points.market, "HJWS-04", "地下菜场通道垃圾桶满溢（无信号时登记）")
    assert FindingPhoto.objects.filter(finding=finding).count() == 1

    # The same request again (as if its answer had been lost): the same finding, nothing new.
    answer = page.evaluate("""async () => {
        const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
        return await CivOutbox.send(window.keptDraft, token);
    }""")
    assert answer["outcome"] == "sent"
    assert (answer["result"]["id"], answer["result"]["created"]) == (finding.pk, False)
    # And through the outbox itself: put back, sent on the next page load, gone, nothing new.
    page.evaluate("async () => { await CivOutbox.put(window.keptDraft); }")
    j.goto("/findings/new/")
    # The badge is hidden until the new page has read its outbox: wait for the outbox itself (at most 10 s).
    outbox = "async () => (await CivOutbox.all()).length"
    for _ in range(100):
        if page.evaluate(outbox) == 0:
            break
        page.wait_for_timeout(100)
    assert page.evaluate(outbox) == 0
    badge.wait_for(state="hidden")
    assert Finding.objects.count() == before + 1
    assert FindingPhoto.objects.filter(finding=finding).count() == 1


def test_the_outbox_page_shows_a_refused_draft_with_the_reason(journey, city, personas):
    seed.world(city, personas)
    j = journey(PHONE)
    j.login(personas.inspector.username, PASSWORD)
    j.goto("/outbox/")
    main = j.page.locator("main")
    main.get_by_text("没有等待发送的草稿。").wait_for()
    # A draft the portal will refuse (no description, no photo), kept as if recorded offline.
    j.page.evaluate("""async () => {
        const user = document.getElementById("outbox-badge").dataset.user;
        await CivOutbox.put({id: CivOutbox.uuid(), url: "/findings/new/", user: user, title: "空白草稿",
            created: new Date().toISOString(), state: "queued", errors: [],
            fields: [{name: "source", value: "inspection"}, {name: "description", value: ""}]});
    }""")
    before = Finding.objects.count()
    j.goto("/outbox/")
    item = main.locator(".outbox-item")
    item.locator(".outbox-errors").filter(has_text="说明").wait_for()
    assert "空白草稿" in item.inner_text()
    assert j.page.locator("#outbox-badge").inner_text() == "1条未发送"
    assert Finding.objects.count() == before
    # The browser logs the refusal (400) it was sent; that one line is expected here.
    assert j.console_errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]
    j.console_errors.clear()
    j.page.once("dialog", lambda dialog: dialog.accept())
    item.get_by_role("button", name="放弃").click()
    main.locator(".outbox-item").wait_for(state="detached")
    assert j.page.locator("#outbox-badge").is_hidden()
