"""How the public and member pages behave on a phone and a desktop, in Chromium: the one-row phone header and
its menu, the folded contents of an edition and its skip link, the folded account navigation, footers at the
bottom of short pages, inserted text unlike a link, BibTeX that wraps, and the statement box that appears only
for a type the office approves."""

import datetime

import pytest
from django.conf import settings

from members.services.payments import order_create
from tests.clients import Client
from tests.factories import MembershipTypeFactory, TermFactory, UserFactory, price_matrix
from tests.guidelines.factories import build_edition

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def log_in(page, user, live_server):
    """Reuse a session made by Django's test client (the login form is crawled in test_pages_browser.py)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])


@pytest.fixture
def member(transactional_db):
    user = UserFactory()
    TermFactory(membership__user=user, end=datetime.date.today() + datetime.timedelta(days=200))
    return user


def test_phone_header_is_one_row_with_a_menu_for_members(page, live_server, member):
    log_in(page, member, live_server)
    page.set_viewport_size(PHONE)
    page.goto("/membership/")
    header = page.locator(".site-header").bounding_box()
    assert header["height"] < 70  # one row of 44px targets and its padding
    assert not page.locator(".site-nav--wide").is_visible()
    menu = page.locator(".site-menu")
    assert not menu.get_by_role("link", name="Profile").is_visible()
    menu.locator("summary").click()
    assert menu.get_by_role("link", name="Profile").is_visible()
    assert menu.get_by_role("link", name="Membership").get_attribute("aria-current") == "page"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.set_viewport_size(DESKTOP)
    assert not menu.is_visible()
    assert page.locator(".site-nav--wide").get_by_role("link", name="Directory").is_visible()


def test_phone_header_keeps_log_in_outside_the_menu_for_visitors(page):
    page.set_viewport_size(PHONE)
    page.goto("/")
    assert page.locator(".site-header").bounding_box()["height"] < 70
    assert page.locator(".site-header").get_by_role("link", name="Log in").is_visible()
    assert page.locator(".site-menu summary").is_visible()


@pytest.fixture
def edition_url(transactional_db):
    return build_edition(provisions=30).get_absolute_url()


def test_edition_contents_fold_away_on_a_phone_and_stand_beside_the_text_on_a_desktop(page, edition_url):
    page.set_viewport_size(PHONE)
    page.goto(edition_url)
    contents = page.locator("details.toc")
    first_entry = contents.locator(".toc__item a").first
    assert contents.get_attribute("open") is None
    assert not first_entry.is_visible()
    contents.locator("summary").click()
    assert first_entry.is_visible()

    page.set_viewport_size(DESKTOP)
    page.goto(edition_url)
    assert page.locator("details.toc").get_attribute("open") is not None  # guidelines.js, for assistive technology
    assert not page.locator(".toc__summary").is_visible()
    assert first_entry.is_visible()
    text = page.locator(".edition-text").bounding_box()
    assert first_entry.bounding_box()["x"] < text["x"]  # beside the text, not above it


def test_edition_contents_hang_their_titles_under_the_first_word(page, edition_url):
    page.set_viewport_size(DESKTOP)
    page.goto(edition_url)
    # A title long enough to wrap in the 18rem column: its second line starts under its first word.
    entry = page.locator(".toc__item a").nth(3)
    entry.evaluate("a => a.lastChild.textContent = ' A heading long enough to wrap onto a second line of the contents'")
    number = entry.locator(".toc__number").bounding_box()
    lines = entry.evaluate(
        """a => { const range = document.createRange(); range.selectNodeContents(a.lastChild);
        return [...range.getClientRects()].map(rect => rect.left); }"""
    )
    assert len(lines) >= 2
    assert all(left >= number["x"] + number["width"] for left in lines)


def test_skip_to_the_text_jumps_over_the_contents(page, edition_url):
    page.set_viewport_size(DESKTOP)
    page.goto(edition_url)
    skip = page.locator(".skip-to-text")
    assert skip.bounding_box()["width"] <= 1  # out of sight until focused
    skip.focus()
    box = skip.bounding_box()
    assert box["x"] >= 0
    assert box["width"] > 1
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "edition-text"


def test_bibtex_wraps_on_a_phone(page, edition_url):
    page.set_viewport_size(PHONE)
    page.goto(edition_url)
    bibtex = page.locator("#cite-bibtex")
    assert bibtex.evaluate("pre => pre.scrollWidth <= pre.clientWidth")


def test_inserted_text_differs_from_a_link_without_colour(page, edition_url):
    page.goto(edition_url)
    # The compare view's markup, styled by the reader's stylesheet.
    page.locator(".edition-text").evaluate(
        'text => text.insertAdjacentHTML(\'afterbegin\', \'<p><a id="l" href="#">a link</a> <ins id="i">added</ins></p>\')'
    )
    style = """element => { const s = getComputedStyle(element);
        return [s.textDecorationStyle, s.backgroundColor, s.textDecorationLine]; }"""
    link = page.locator("#l").evaluate(style)
    inserted = page.locator("#i").evaluate(style)
    assert link[0] == "solid"
    assert link[1] == "rgba(0, 0, 0, 0)"
    assert inserted[0] == "double"
    assert inserted[1] != "rgba(0, 0, 0, 0)"
    assert inserted[2] == "underline"


def test_account_navigation_folds_on_a_phone(page, live_server, member):
    log_in(page, member, live_server)
    page.set_viewport_size(PHONE)
    page.goto("/membership/profile/")
    folded = page.locator("details.account-nav--compact")
    assert folded.is_visible()
    assert folded.locator("summary").inner_text() == "Account: Profile"
    assert not folded.get_by_role("link", name="Password").is_visible()
    assert not page.locator(".account-nav--wide").is_visible()
    folded.locator("summary").click()
    assert folded.get_by_role("link", name="Password").is_visible()

    page.set_viewport_size(DESKTOP)
    assert page.locator(".account-nav--wide").get_by_role("link", name="Password").is_visible()
    assert not folded.is_visible()


@pytest.mark.parametrize("path", ["/accounts/password/reset/done/", "/accounts/2fa/"])
def test_footer_stays_at_the_bottom_of_a_short_page(page, live_server, member, path):
    log_in(page, member, live_server)
    page.set_viewport_size({"width": 1280, "height": 1200})
    page.goto(path)
    footer = page.locator(".site-footer").bounding_box()
    assert footer["y"] + footer["height"] == pytest.approx(1200, abs=1)


def test_statement_box_shows_only_while_a_type_the_office_approves_is_chosen(page, live_server, transactional_db):
    MembershipTypeFactory(name="Student", requires_approval=True)
    price_matrix("Full", "Student")
    user = UserFactory()
    log_in(page, user, live_server)
    page.goto("/membership/join/")
    statement = page.get_by_label("How you meet the eligibility")
    page.get_by_label("Full").check()
    assert not statement.is_visible()
    page.get_by_label("Student").check()
    assert statement.is_visible()


def test_an_invoice_prints_as_a_document(page, live_server, transactional_db):
    types = price_matrix("Full")
    user = UserFactory(country="DE")
    order = order_create(user=user, membership_type=types["Full"], provider="invoice")
    log_in(page, user, live_server)
    page.goto(order.get_absolute_url())
    primary = page.get_by_role("link", name="Download the invoice (PDF)")
    assert primary.is_visible()
    page.emulate_media(media="print")
    # Only the document: no header, footer, navigation or buttons; its address at the foot of the page.
    for chrome in (".site-header", ".site-footer", ".document__next-step"):
        assert not page.locator(chrome).is_visible(), chrome
    assert not primary.is_visible()
    assert page.get_by_role("heading", name=f"Invoice {order.number}").is_visible()
    assert page.get_by_role("heading", name="How to pay").is_visible()
    footer = page.locator(".print-footer")
    assert footer.is_visible()
    assert order.get_absolute_url() in footer.inner_text()
    assert page.locator("body").evaluate("body => getComputedStyle(body).fontFamily").startswith("Charter")
