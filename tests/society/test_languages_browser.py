"""Right to left on a phone: switching to Arabic mirrors the layout without horizontal overflow."""

import pytest

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
# Elements past the viewport's edges, except inside a region that scrolls on purpose (wide tables' .table-wrap).
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const inScroller = element => {
    for (let parent = element.parentElement; parent && parent !== document.body; parent = parent.parentElement) {
      if (['auto', 'scroll'].includes(getComputedStyle(parent).overflowX)) return true;
    }
    return false;
  };
  return [...document.querySelectorAll('body *')]
    .filter(element => { const box = element.getBoundingClientRect(); return box.width > 0 && (box.right > width + 1 || box.left < -1); })
    .filter(element => !inScroller(element))
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


def _public_and_member_urls(code):
    """Every public page (under the language's prefix) and every member page, with the rows they show."""
    import datetime

    from django.urls import reverse, translate_url
    from django.utils import translation

    from tests.factories import OrderFactory, TermFactory, UserFactory, price_matrix
    from tests.guidelines.factories import build_edition
    from tests.society.factories import NewsArticleFactory, PageFactory

    price_matrix("Full")
    member = UserFactory(country="DE", language=code, full_name="Amal Haddad")
    term = TermFactory(membership__user=member, end=datetime.date.today() + datetime.timedelta(days=200))
    order = OrderFactory(membership=term.membership)
    edition = build_edition(provisions=3)
    provision = edition.versions.select_related("provision").first().provision
    with translation.override("en"):
        public = [
            reverse("home"),
            reverse("about"),
            PageFactory().get_absolute_url(),
            reverse("news:list"),
            NewsArticleFactory().get_absolute_url(),
            reverse("guidelines:list"),
            edition.get_absolute_url(),
            reverse(
                "guidelines:provision",
                kwargs={"guideline": edition.guideline.slug, "edition": edition.slug, "provision": provision.slug},
            ),
            reverse("guidelines:search") + "?q=text",
        ]
        public = [translate_url(url, code) for url in public]
    members = [
        reverse("members:home"),
        reverse("members:profile"),
        reverse("members:directory"),
        reverse("members:renew"),
        reverse("members:order", args=[order.number]),
        reverse("account_email"),
        reverse("account_change_password"),
    ]
    return member, public, members


@pytest.mark.parametrize("code", ["ar", "ja"])
def test_every_public_and_member_page_on_a_phone_is_accessible_and_fits(page, axe, live_server, code):
    from tests.members.test_browser_memberships import log_in

    member, public, members = _public_and_member_urls(code)
    page.set_viewport_size(PHONE)
    for index, url in enumerate(public + members):
        if index == len(public):
            log_in(page, member, live_server)
        page.goto(url)
        assert page.locator("html").get_attribute("lang") == code, url
        assert page.locator("html").get_attribute("dir") == ("rtl" if code == "ar" else "ltr"), url
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], url
        assert page.evaluate(OVERFLOWING) == [], url
        # Mirrored in Arabic: the brand's mark sits at the right edge, and its name (the short one on a
        # phone) to its left; the other way round in Japanese.
        mark = page.locator(".brand__mark").bounding_box()
        name = page.locator(".brand__short").bounding_box()
        mark_on_the_right = mark["x"] > PHONE["width"] / 2 and name["x"] < mark["x"]
        assert mark_on_the_right == (code == "ar"), url
        axe(page)


def test_joining_in_arabic_on_a_phone_works_with_the_keyboard_only(page, axe, live_server):
    from members.models import Order
    from tests.factories import UserFactory, price_matrix
    from tests.members.test_browser_memberships import log_in, tab_to

    types = price_matrix("Student", "Full")
    user = UserFactory(country="KE", language="ar")
    page.set_viewport_size(PHONE)
    log_in(page, user, live_server)
    page.goto("/membership/")
    tab_to(page, 'a[href="/membership/join/"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/membership/join/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert "كينيا" in page.content()  # Kenya, in Arabic
    assert page.evaluate(OVERFLOWING) == []
    axe(page)
    # The radio group is entered on its first option; in a right-to-left group the arrow keys still move on.
    tab_to(page, f'input[name="membership_type"][value="{types["Student"].pk}"]')
    page.keyboard.press("ArrowDown")
    assert page.locator(f'input[name="membership_type"][value="{types["Full"].pk}"]').is_checked()
    tab_to(page, 'main button[type="submit"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/membership/orders/**")
    order = Order.objects.get()
    assert (order.membership.user, order.membership_type.name, order.provider) == (user, "Full", "invoice")
    assert page.locator("html").get_attribute("lang") == "ar"
    assert page.evaluate(OVERFLOWING) == []
    axe(page)
