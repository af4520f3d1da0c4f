import pytest

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path", ["/", "/about/", "/no-such-page/"])
def test_public_pages_have_no_accessibility_violations(page, axe, path):
    page.goto(path)
    assert page.locator("h1").count() == 1
    axe(page)


def test_skip_link_moves_focus_to_main_content(page):
    page.goto("/about/")
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert skip.evaluate("element => element === document.activeElement")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_static_assets_load_under_the_content_security_policy(page):
    violations = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.goto("/")
    # The stylesheet applied: the header has the primary colour, not the browser default.
    background = page.locator(".site-header").evaluate("element => getComputedStyle(element).backgroundColor")
    assert background == "rgb(12, 42, 65)"
    assert violations == []
