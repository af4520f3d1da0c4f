"""A regulation with heading-less paragraphs seven levels deep, read in a real browser with axe-core."""

import pytest

from guidelines.exchange import edition_import
from tests.guidelines.test_outline import ACCOUNT_LEAD, DEPTHS, regulation

pytestmark = pytest.mark.browser

# Every heading in document order, as assistive technology sees it: its level and its accessible text.
HEADINGS_JS = """() => [...document.querySelectorAll('h1, h2, h3, h4, h5, h6, [role="heading"]')].map(element => [
    Number(element.getAttribute('aria-level') || element.tagName.slice(1)), element.textContent.trim()])"""


@pytest.fixture
def regulation_page(transactional_db):
    return edition_import(data=regulation(), publish=True).get_absolute_url()


def test_deep_regulation_reads_with_unskipped_levels_and_named_headings(page, axe, regulation_page):
    page.goto(regulation_page)
    headings = page.evaluate(HEADINGS_JS)
    levels = [level for level, _text in headings]
    assert levels[0] == 1
    assert all(after <= before + 1 for before, after in zip(levels, levels[1:], strict=False)), levels
    assert all(text for _level, text in headings)
    provisions = page.evaluate(HEADINGS_JS.replace('h1, h2, h3, h4, h5, h6, [role="heading"]', ".provision__heading"))
    assert [level for level, _text in provisions] == [2 + depth for depth in DEPTHS]
    # The reader's accessible name carries the first words; sighted readers see only the number above the text.
    account = page.locator("#p-p2a-h")
    assert " ".join(account.text_content().split()) == f"1002.2(a) {ACCOUNT_LEAD}"
    assert account.locator(".visually-hidden").bounding_box()["width"] <= 1
    # The contents indent by depth: each level further in than its parent.
    indents = [
        page.locator(f'.toc a[href="#p-{uid}"]').evaluate("element => element.getBoundingClientRect().left")
        for uid in ("p2", "p2a", "p2a1", "p2a1i")
    ]
    assert indents == sorted(set(indents))
    page.locator(".toc").get_by_role("link", name=f"1002.2(a) {ACCOUNT_LEAD}").click()
    page.wait_for_url("**#p-p2a")
    axe(page)
