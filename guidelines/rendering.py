"""Markdown to safe HTML for provision bodies and change summaries.

markdown-it-py renders CommonMark (raw HTML in the source is escaped, not passed through), then nh3 keeps
only the tags a guideline needs: even if the renderer or an editor slipped something through, no script,
style or event handler reaches the page.
"""

import hashlib
import html
import re

import nh3
from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

ALLOWED_TAGS = {
    "p",
    "br",
    "em",
    "strong",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "hr",
    "sup",
    "sub",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
_BLOCK_END = re.compile(r"</(p|li|h[3-6]|blockquote|pre|tr|table)>")
_WHITESPACE_RUN = re.compile(r"[ \t]+")


def render_markdown(source: str) -> str:
    """Markdown source -> sanitised HTML fragment."""
    raw = _markdown.render(source or "")
    return nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    ).strip()


def html_to_text(fragment: str) -> str:
    """The reading text of an HTML fragment, one paragraph per line: what search indexes and diffs compare."""
    with_breaks = _BLOCK_END.sub(lambda match: match.group(0) + "\n", fragment)
    text = html.unescape(nh3.clean(with_breaks, tags=set()))
    lines = (_WHITESPACE_RUN.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def content_hash(*parts: str) -> str:
    """A stable fingerprint of a provision's wording; equal hashes mean the text did not change."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update((part or "").strip().replace("\r\n", "\n").encode())
        digest.update(b"\x00")
    return digest.hexdigest()
