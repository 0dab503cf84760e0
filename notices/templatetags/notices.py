from django import template
from django.utils.safestring import mark_safe
from markdown_it import MarkdownIt

register = template.Library()

# CommonMark with raw HTML off: any HTML in the text is shown as text, and
# markdown-it refuses javascript:, vbscript:, file: and data: links.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True})


@register.filter
def markdown(text: str) -> str:
    return mark_safe(_md.render(text or ""))
