"""A reader's path through the library in a real browser, with axe-core on every page."""

import io
from types import SimpleNamespace

import pytest

from guidelines import demo

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_library(transactional_db):
    demo.seed(SimpleNamespace(stdout=io.StringIO()))


def test_reader_jumps_switches_edition_and_compares(page, axe, demo_library):
    page.goto("/guidelines/stem-cell-research/")
    assert page.locator("h1").count() == 1
    assert page.locator(".badge").inner_text() == "Current edition"
    axe(page)

    page.locator(".toc").get_by_role("link", name="2.2.1 Consent for donation").click()
    page.wait_for_url("**/guidelines/stem-cell-research/#p-donor-consent")
    assert page.locator("#p-donor-consent").is_visible()

    # The edition switcher keeps the reader's place.
    page.locator(".edition-switcher").get_by_role("link", name="2016").click()
    page.wait_for_url("**/guidelines/stem-cell-research/2016/#p-donor-consent")
    banner = page.locator(".edition-banner")
    assert "This edition has been superseded." in banner.inner_text()
    assert "2025 targeted update" in banner.inner_text()
    axe(page)

    page.get_by_role("link", name="Compare with the current edition").click()
    page.wait_for_url("**/guidelines/stem-cell-research/compare/2016/2025/")
    assert page.locator(".redline ins").count() > 0
    assert page.locator(".redline del").count() > 0
    assert "[inserted:" in page.locator(".redline ins").first.text_content()
    axe(page)


def test_search_and_provision_pages_are_accessible(page, axe, demo_library):
    page.goto("/guidelines/search/?q=consent")
    assert page.locator(".search-result mark").count() > 0
    axe(page)
    page.goto("/guidelines/stem-cell-research/2021/donor-consent/")
    assert "2016, amended 2021" in page.locator(".provision__meta").inner_text()
    axe(page)
    page.goto("/guidelines/laboratory-standards/2023-es/")
    assert page.locator(".provision__outdated").count() == 1
    axe(page)
