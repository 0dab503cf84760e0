"""The UI is Chinese by default, English on request, and the catalogue is complete."""

import gettext
import re
from pathlib import Path

from django.conf import settings
from django.urls import reverse

PO = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def _unquote(block: str) -> str:
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', block)
    return "".join(p.encode("latin-1", "backslashreplace").decode("unicode_escape").encode("latin-1").decode("utf-8")
                   if "\\" in p else p for p in parts)


def parse_po(path: Path):
    """Yield (key, msgstrs, flags) per entry; the key is the msgid, prefixed by
    its context the way gettext stores it (``context\x04msgid``)."""
    for entry in path.read_text(encoding="utf-8").split("\n\n"):
        msgid = re.search(r"^msgid ((?:\".*\"\n?)+)", entry, re.M)
        if not msgid:
            continue
        context = re.search(r"^msgctxt ((?:\".*\"\n?)+)", entry, re.M)
        flags = " ".join(re.findall(r"^#, (.*)$", entry, re.M))
        strs = [_unquote(m) for m in re.findall(r"^msgstr(?:\[\d\])? ((?:\".*\"\n?)+)", entry, re.M)]
        key = _unquote(msgid.group(1))
        if context and key:
            key = f"{_unquote(context.group(1))}\x04{key}"
        yield key, strs, flags + (" plural" if "msgid_plural" in entry else "")


def test_catalogue_has_no_untranslated_or_fuzzy_entries():
    entries = [e for e in parse_po(PO) if e[0]]
    assert len(entries) > 100
    untranslated = [msgid for msgid, strs, _ in entries if not all(strs)]
    fuzzy = [msgid for msgid, _, flags in entries if "fuzzy" in flags]
    assert untranslated == []
    assert fuzzy == []


def test_compiled_catalogue_matches_the_po_file():
    with MO.open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)._catalog
    stale = []
    for msgid, strs, flags in parse_po(PO):
        if not msgid:
            continue
        key = (msgid, 0) if "plural" in flags else msgid
        if catalog.get(key) != strs[0]:
            stale.append(msgid)
    assert stale == [], "run: manage.py compilemessages"


def test_login_page_is_chinese_by_default(client, db):
    body = client.get(reverse("login")).content.decode()
    assert "<h1>登录</h1>" in body
    assert 'lang="zh-hans"' in body
    assert "创城办" in body


def test_pages_stay_chinese_for_an_english_browser_until_switched(client, db):
    body = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "<h1>登录</h1>" in body


def test_password_change_page_is_chinese(personas, login):
    body = login(personas.handler_a).get(reverse("password_change")).content.decode()
    assert "修改密码" in body and "新密码" in body


def test_switching_to_english_and_back(client, db):
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    assert response.status_code == 302
    body = client.get(reverse("login")).content.decode()
    assert "<h1>Log in</h1>" in body
    assert "登录" not in body
    client.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("login")})
    assert "<h1>登录</h1>" in client.get(reverse("login")).content.decode()


def test_api_errors_are_translated(api, db):
    zh = api().get("/api/v1/units/")
    en = api().get("/api/v1/units/", HTTP_ACCEPT_LANGUAGE="en")
    assert zh.status_code == en.status_code == 401
    assert zh.json()["detail"] != en.json()["detail"]
    assert zh.json()["code"] == en.json()["code"] == "not_authenticated"
