"""Right to left on a phone: switching to Arabic mirrors the layout without horizontal overflow."""

import pytest

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll('body *')]
    .filter(element => { const box = element.getBoundingClientRect(); return box.width > 0 && (box.right > width + 1 || box.left < -1); })
    .map(element => element.tagName + '.' + element.className);
}"""


def test_switching_to_arabic_on_a_phone_mirrors_the_page_without_overflow(page, axe):
    page.set_viewport_size(PHONE)
    page.goto("/")
    page.locator('.language-links a[hreflang="ar"]').click()
    page.wait_for_url("**/ar/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("html").get_attribute("lang") == "ar"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.evaluate(OVERFLOWING) == []
    # Mirrored: the brand starts at the right edge.
    brand = page.locator(".brand").bounding_box()
    assert brand["x"] + brand["width"] > PHONE["width"] / 2
    axe(page)


@pytest.mark.parametrize("code", ["ar", "ja"])
def test_home_page_has_no_accessibility_violations_in(page, axe, code):
    page.goto(f"/{code}/")
    assert page.locator("html").get_attribute("lang") == code
    axe(page)
