"""Words and language (issue 20, acceptance 6): 姓名 for people, no stray
spaces around names in Chinese texts, score components named in headers,
English field labels capitalised."""

from __future__ import annotations

import re
from pathlib import Path

from django.utils import translation

PO = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
# Placeholders that hold Chinese text (names of units, people, places, labels): no space next to Chinese.
TEXT = "name|unit|community|child|parent|who|user|address|title|sender|kind|role|category|team|activity|level|status|action|problem|point"
# …except where the value is a file name, a parameter name or an API key name (Latin text keeps its spaces).
LATIN_VALUES = ("像素", "损坏或不完整", "是空文件", "超过 10 MB", "不是 JPEG", "不是有效的日期时间", "过长（最多", "须为 -", "API 密钥")
CJK = "[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef“”《》]"
STRAY = re.compile(rf"%\((?:{TEXT})\)s (?={CJK})|(?<={CJK}) %\((?:{TEXT})\)s")


def msgstrs():
    text = PO.read_text(encoding="utf-8")
    for block in re.findall(r'^msgstr(?:\[\d\])? ((?:".*"\n?)+)', text, re.M):
        yield "".join(re.findall(r'"(.*)"', block))


def test_no_stray_spaces_around_names_in_chinese_texts():
    stray = [s for s in msgstrs() if STRAY.search(s) and not any(k in s for k in LATIN_VALUES)]
    assert stray == []


def test_task_notice_text_reads_without_a_space():
    with translation.override("zh-hans"):
        text = translation.gettext("Task #%(task)s of %(unit)s — %(action)s; status now “%(status)s”.") % {
            "task": 1, "unit": "新村社区", "action": "受理", "status": "整改中"}
    assert text.startswith("新村社区的整改任务")


def test_people_are_named_with_xingming(personas, city, login):
    from volunteers.forms import VolunteerForm

    with translation.override("zh-hans"):
        assert str(VolunteerForm.base_fields["name"].label) == "姓名"
    page = login(personas.supervisor).get("/accounts/users/new/").content.decode()
    assert ">姓名 <span" in page or ">姓名<" in page


def test_score_components_are_named_in_headers_with_a_legend(personas, city, login):
    page = login(personas.supervisor).get("/scores/").content.decode()
    if "<table" in page:  # a month has been scored
        assert "实地考察" in page and "<abbr" in page
    from django.template.loader import render_to_string

    with translation.override("zh-hans"):
        headers = render_to_string("scores/includes/component_headers.html")
        legend = render_to_string("scores/includes/component_legend.html")
    for name, letter in (("实地考察", "F"), ("整改时效", "R"), ("问卷调查", "S"), ("材料审核", "M")):
        assert name in headers and f">{letter}</abbr>" in headers
        assert name in legend and f"<abbr>{letter}</abbr>" in legend


def test_english_form_labels_start_with_a_capital(personas, city, login):
    client = login(personas.supervisor)
    client.cookies["django_language"] = "en"
    page = client.get("/units/new/").content.decode()
    labels = re.findall(r'<label for="id_\w+">([^<*]+)', page)
    assert labels and all(label.strip()[0].isupper() for label in labels), labels
