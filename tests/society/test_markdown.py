"""The Markdown sanitiser: what staff write can never run script or pull content from elsewhere."""

from html.parser import HTMLParser

import pytest

from society.markdown import ALLOWED_TAGS, is_site_image_url, markdown_to_text, render_markdown, sanitise_html

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src="x" onerror="alert(1)">',
    "<img src=x onerror=alert(1)//",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x](data:image/png;base64,iVBORw0KGgo=)",
    '<svg onload="alert(1)"><circle r="1"/></svg>',
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<body onload="alert(1)">',
    '<a href="#" onclick="alert(1)">x</a>',
    '[x](" onmouseover="alert(1))',
    '![x" onerror="alert(1)](/img/a.png)',
    "<details open ontoggle=alert(1)>",
    "<object data=javascript:alert(1)>",
    '<form action="javascript:alert(1)"><button>x</button></form>',
]


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def elements(html):
    parser = _Elements()
    parser.feed(html)
    return parser.elements


def assert_harmless(html):
    """Judge the markup as a browser would parse it: escaped text may mention `onerror=`, live markup may not."""
    for tag, attrs in elements(html):
        assert tag in ALLOWED_TAGS, (tag, html)
        for name, value in attrs.items():
            assert not name.startswith("on"), (name, html)
            assert name != "style", html
            if name in {"href", "src"}:
                scheme = (value or "").split(":", 1)[0].strip().lower() if ":" in (value or "") else ""
                assert scheme in {"", "http", "https", "mailto"}, (value, html)
        if tag == "img":
            assert is_site_image_url(attrs.get("src", "")), html


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payloads_in_markdown_come_out_harmless(payload):
    assert_harmless(render_markdown(payload))


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_the_html_sanitiser_alone_also_stops_them(payload):
    # The second layer on its own, as if markdown-it had let raw HTML through.
    html = sanitise_html(payload)
    assert_harmless(html)
    assert "alert(1)</script>" not in html
    assert "<script" not in html.lower()


@pytest.mark.parametrize(
    "markdown",
    [
        "![x](https://evil.example/pixel.png)",
        "![x](http://evil.example/pixel.png)",
        "![x](//evil.example/pixel.png)",
        "![x](/\\evil.example/pixel.png)",
        "![x](https://testserver.evil.example/pixel.png)",
    ],
)
def test_external_and_protocol_relative_images_are_shown_as_their_text(markdown, settings):
    settings.SITE_URL = "https://society.example"
    html = render_markdown(markdown)
    assert "<img" not in html
    assert "evil.example" not in html
    assert ">x<" in html


@pytest.mark.parametrize("url", ["/media/news/a.png", "media/a.png", "https://society.example/static/img/logo.svg"])
def test_images_from_the_site_itself_are_kept(url, settings):
    settings.SITE_URL = "https://society.example"
    assert is_site_image_url(url)
    assert f'<img src="{url}" alt="Logo">' in render_markdown(f"![Logo]({url})")


def test_other_schemes_and_hosts_are_not_site_images(settings):
    settings.SITE_URL = "https://society.example"
    for url in [
        "http://society.example/a.png",
        "https://society.example.evil.example/a.png",
        "ftp://society.example/a",
        "",
        " /a.png",
        "/a.png\n",
    ]:
        assert not is_site_image_url(url), url


def test_ordinary_markdown_survives():
    html = render_markdown(
        "# Title\n\nSome *emphasis*, **strong**, `code` and a [link](https://example.org).\n\n"
        "- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n> quoted"
    )
    assert "<h2>Title</h2>" in html  # the page's title is its only h1
    assert "<em>emphasis</em>" in html
    assert "<strong>strong</strong>" in html
    assert "<code>code</code>" in html
    assert '<a href="https://example.org" rel="noopener noreferrer">link</a>' in html
    assert "<li>one</li>" in html
    assert "<table>" in html
    assert "<td>1</td>" in html
    assert "<blockquote>" in html


def test_raw_html_is_shown_as_text():
    assert render_markdown("<b>bold</b>") == "<p>&lt;b&gt;bold&lt;/b&gt;</p>\n"


def test_the_text_part_of_an_email_keeps_link_addresses_and_marks_list_items():
    text = markdown_to_text(
        "# Call for nominations\n\nDear **members**, see [the page](https://society.example/n/) & <b>x</b>.\n\n"
        "- one\n- [https://a.example/](https://a.example/)\n\n[evil](javascript:alert(1))"
    )
    assert text == (
        "Call for nominations\n\n"
        "Dear members, see the page (https://society.example/n/) & <b>x</b>.\n\n"
        "- one\n- https://a.example/\n\n"
        "[evil](javascript:alert(1))"  # never a link, so left as the text it was
    )
