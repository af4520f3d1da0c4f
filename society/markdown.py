"""Markdown written by staff, turned into HTML that is safe to show to everyone.

Two layers, so a bug in one is caught by the other: markdown-it-py renders with raw HTML switched off
(an author's `<script>` comes out as text), then nh3 keeps only an allow-list of tags, attributes and
URL schemes (no style attributes either: the Content Security Policy would refuse them). Images may
only come from the site itself, so an article never makes a reader's browser fetch a tracking pixel
from a third party (the Content Security Policy would block it too).
"""

import html
import re
from urllib.parse import urlsplit

import nh3
from django.conf import settings
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "a",
    "abbr",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}


def is_site_image_url(url: str) -> bool:
    """True for a relative URL on this site or an absolute URL under SITE_URL; False for anything else.

    Protocol-relative URLs (`//host/x.png`) and their backslash variants (`/\\host/x.png`, which browsers
    read the same way) point to another host, so they are refused along with every scheme but ours.
    """
    if not url or any(char.isspace() or ord(char) < 32 or char == "\\" for char in url):
        return False
    lowered = url.lower()
    if lowered.startswith(("//", "/%5c")):
        return False
    parts = urlsplit(url)
    if not parts.scheme and not parts.netloc:
        return True
    site = urlsplit(settings.SITE_URL)
    return parts.scheme in {"http", "https"} and parts.scheme == site.scheme and parts.netloc == site.netloc


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and not is_site_image_url(value):
        return None
    return value


def _build_parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable(["table", "strikethrough"])
    default_image = parser.renderer.rules["image"]

    def render_image(self, tokens, idx, options, env):
        token = tokens[idx]
        if not is_site_image_url(token.attrGet("src") or ""):
            # Show what the picture was meant to say instead of fetching it from elsewhere.
            return self.renderInline(token.children or [], options, env)
        return default_image(tokens, idx, options, env)

    def render_heading_open(self, tokens, idx, options, env):
        # The page title is the only h1; an author's "# Heading" becomes a section heading.
        if tokens[idx].tag == "h1":
            tokens[idx].tag = "h2"
        return self.renderToken(tokens, idx, options, env)

    def render_heading_close(self, tokens, idx, options, env):
        if tokens[idx].tag == "h1":
            tokens[idx].tag = "h2"
        return self.renderToken(tokens, idx, options, env)

    parser.add_render_rule("image", render_image)
    parser.add_render_rule("heading_open", render_heading_open)
    parser.add_render_rule("heading_close", render_heading_close)
    return parser


_parser = _build_parser()


def sanitise_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
    )


def render_markdown(text: str) -> str:
    """Markdown in, sanitised HTML out: safe to mark as safe in a template."""
    return sanitise_html(_parser.render(text or ""))


_LINK = re.compile(r'<a\b[^>]*\bhref="([^"]*)"[^>]*>(.*?)</a>', re.S)
_LIST_ITEM = re.compile(r"<li\b[^>]*>")
_BLOCK_END = re.compile(r"</(p|h[1-6]|blockquote|pre|tr|table|ul|ol)>|<br\s*/?>|<hr\s*/?>")


def markdown_to_text(text: str) -> str:
    """Markdown in, the plain-text part of an email out: the same sanitised rendering as the HTML part, with each
    link's address after its words (a text reader cannot click the words) and list items marked."""

    def link(match):
        url, label = html.unescape(match.group(1)), match.group(2)
        plain = html.unescape(nh3.clean(label, tags=set())).strip()
        return f"{label} ({url})" if plain and plain != url else url

    rendered = _LINK.sub(link, render_markdown(text))
    rendered = _LIST_ITEM.sub(lambda match: match.group(0) + "- ", rendered)
    rendered = _BLOCK_END.sub(lambda match: match.group(0) + "\n", rendered)
    plain = html.unescape(nh3.clean(rendered, tags=set()))
    lines = [" ".join(line.split()) for line in plain.splitlines()]
    # One blank line between blocks, none at either end.
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class RenderedBodyMixin:
    """Renders the Markdown `body` into `body_html` on every save, so pages never render Markdown per view."""

    def save(self, *args, **kwargs):
        self.body_html = render_markdown(self.body)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "body" in update_fields:
            kwargs["update_fields"] = {*update_fields, "body_html"}
        super().save(*args, **kwargs)
