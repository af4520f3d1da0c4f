"""The public and member pages speak one language and send people the right way: the navigation marks the
section they are in and offers only what they may open, a member is sent to renew rather than join, allauth's
pages are in sentence case with one word per action, and the home, About and membership pages never state
figures that disagree with the live ones."""

import datetime
import re

import pytest
import time_machine
from django.test import override_settings

from guidelines.models import Edition
from guidelines.services import edition_publish
from members.models import Order
from tests.factories import MembershipTypeFactory, TermFactory, UserFactory, price_matrix
from tests.guidelines.factories import build_edition

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 25, 12, tzinfo=datetime.UTC)
TODAY = NOW.date()
CURRENT = re.compile(r'<a [^>]*aria-current="page"[^>]*>([^<]+)</a>')


def member_with_term_ending(days_from_today, country="DE"):
    user = UserFactory(country=country)
    TermFactory(membership__user=user, end=TODAY + datetime.timedelta(days=days_from_today))
    return user


def main_nav(body: str) -> str:
    """The wide header's navigation (the phone menu repeats the same links)."""
    return body.split('class="site-nav site-nav--wide"', 1)[1].split("</nav>", 1)[0]


def squeezed(body: str) -> str:
    """allauth's templates indent their text inside the tags: compare with whitespace squeezed out."""
    return re.sub(r">\s+", ">", re.sub(r"\s+<", "<", re.sub(r"\s+", " ", body)))


def current_sections(body: str) -> list[str]:
    return [label.strip() for label in CURRENT.findall(main_nav(body))]


# --- Join and renew ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("days_from_today", [200, 30, -10, -400])  # active, expiring, grace, lapsed
@time_machine.travel(NOW, tick=False)
def test_join_sends_a_member_to_renew(client, days_from_today):
    price_matrix("Full")
    client.force_login(member_with_term_ending(days_from_today))
    response = client.get("/membership/join/")
    assert (response.status_code, response["Location"]) == (302, "/membership/renew/")


@time_machine.travel(NOW, tick=False)
def test_join_stays_the_way_in_for_an_account_without_a_membership(client):
    price_matrix("Full")
    client.force_login(UserFactory())
    response = client.get("/membership/join/")
    assert response.status_code == 200
    assert "<h1>Join the society</h1>" in response.content.decode()


@time_machine.travel(NOW, tick=False)
def test_each_type_shows_its_description_once_and_price_with_its_period(client):
    types = price_matrix("Full", "Lifetime")
    types["Full"].description = "For researchers who hold a doctorate."
    types["Full"].save()
    types["Lifetime"].is_lifetime = True
    types["Lifetime"].save()
    client.force_login(UserFactory(country="IN"))
    body = client.get("/membership/join/").content.decode()
    assert body.count("For researchers who hold a doctorate.") == 1
    assert '<span class="price">$50.00</span>' in body
    assert "for 12 months" in body
    assert "one payment, for life" in body
    assert "Lower-middle income" in body  # the band, explained beside the prices


@time_machine.travel(NOW, tick=False)
def test_the_statement_box_is_only_there_for_types_the_office_approves(client):
    price_matrix("Full")
    client.force_login(UserFactory())
    assert 'name="statement"' not in client.get("/membership/join/").content.decode()
    MembershipTypeFactory(name="Student", requires_approval=True)
    price_matrix("Full", "Student")
    body = client.get("/membership/join/").content.decode()
    assert 'name="statement"' in body
    # Shown by the stylesheet only while that type is chosen.
    assert "type-choice type-choice--approval" in body
    assert body.count("type-choice--approval") == 1


@time_machine.travel(NOW, tick=False)
def test_after_choosing_invoice_the_invoice_pdf_is_the_primary_button(client):
    types = price_matrix("Full")
    client.force_login(UserFactory())
    response = client.post(
        "/membership/join/", {"membership_type": types["Full"].pk, "provider": "invoice"}, follow=True
    )
    body = response.content.decode()
    order = Order.objects.get()
    assert "Your invoice is ready. We have also sent it to you by email." in body
    primary = re.findall(r'<a class="button button--accent" href="([^"]+)"[^>]*>([^<]+)</a>', body)
    assert primary == [(f"/membership/orders/{order.number}/pdf/", "Download the invoice (PDF)")]
    assert '<p class="print-footer">' in body


# --- Navigation ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_from_today", "directory_link"),
    [(200, True), (-10, True), (-400, False), (None, False)],  # active, grace, lapsed, no membership
)
@time_machine.travel(NOW, tick=False)
def test_directory_link_only_for_members_who_may_open_it(client, days_from_today, directory_link):
    user = UserFactory() if days_from_today is None else member_with_term_ending(days_from_today)
    client.force_login(user)
    body = client.get("/membership/").content.decode()
    assert ('href="/membership/directory/"' in main_nav(body)) is directory_link
    assert ('href="/membership/directory/"' in body.split('class="site-menu__panel"', 1)[1]) is directory_link


@pytest.mark.parametrize(
    ("path", "current"),
    [
        ("/", ["Home"]),
        ("/guidelines/", ["Guidelines"]),
        ("/de/guidelines/", ["Leitlinien"]),
        ("/news/", ["News"]),
        ("/accounts/login/", ["Log in"]),
        ("/accounts/signup/", []),
        ("/accounts/password/reset/", []),
        ("/accounts/password/reset/done/", []),
        ("/about/", []),
    ],
)
def test_navigation_marks_the_section_a_visitor_is_in(client, path, current):
    assert current_sections(client.get(path).content.decode()) == current


@pytest.mark.parametrize(
    ("path", "current"),
    [
        ("/membership/", ["Membership"]),
        ("/membership/renew/", ["Membership"]),
        ("/membership/directory/", ["Directory"]),
        ("/membership/profile/", ["Profile"]),
        ("/accounts/email/", ["Profile"]),
        ("/accounts/2fa/", ["Profile"]),
    ],
)
@time_machine.travel(NOW, tick=False)
def test_navigation_marks_the_section_a_member_is_in(client, path, current):
    price_matrix("Full")
    client.force_login(member_with_term_ending(200))
    assert current_sections(client.get(path).content.decode()) == current


def test_anonymous_header_carries_nothing_of_the_visitor(client):
    """The page cache shares anonymous pages: no form, token or member link in the header."""
    body = client.get("/").content.decode()
    header = body.split('<header class="site-header">', 1)[1].split("</header>", 1)[0]
    assert "csrfmiddlewaretoken" not in header
    assert "/membership/" not in header
    assert '<details class="site-menu">' in header


# --- Sentence case ------------------------------------------------------------------------------------------

TITLE_CASE = [
    "Sign In",
    "Sign Up",
    "Signup",
    "Remember Me",
    "Confirm Access",
    "Password Reset",
    "Reset My Password",
    "Email Address",
    "Change Password",
    "Account Inactive",
    "Verify Your Email Address",
    "Sign Out",
]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/accounts/login/", ["<h1>Log in</h1>", "Remember me"]),
        ("/accounts/signup/", ["<h1>Sign up</h1>", ">log in</a>"]),
        ("/accounts/password/reset/", ["<h1>Password reset</h1>", "Reset my password"]),
        ("/accounts/confirm-email/", ["<h1>Verify your email address</h1>"]),
        ("/accounts/inactive/", ["<h1>Account inactive</h1>"]),
    ],
)
def test_account_entrance_pages_are_in_sentence_case_without_placeholders(client, path, expected):
    body = squeezed(client.get(path).content.decode())
    main = body.split('<main id="main"', 1)[1]
    for text in expected:
        assert text in main
    assert [text for text in TITLE_CASE if text in body] == []
    assert "placeholder=" not in main


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/accounts/password/change/", ["Change password", "Current password", "New password (again)"]),
        ("/accounts/email/", ["Email addresses"]),
        ("/accounts/reauthenticate/", ["<h1>Confirm access</h1>"]),
    ],
)
def test_account_pages_of_a_member_are_in_sentence_case(client, path, expected):
    client.force_login(UserFactory())
    body = squeezed(client.get(path).content.decode())
    for text in expected:
        assert text in body
    assert [text for text in TITLE_CASE if text in body] == []
    assert "placeholder=" not in body.split('<main id="main"', 1)[1]


# --- Figures ------------------------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_home_about_and_membership_pages_never_contradict_the_live_figures(client):
    for country in ("DE", "JP", "KE"):
        member_with_term_ending(200, country=country)
    home = client.get("/").content.decode()
    about = client.get("/about/").content.decode()
    assert "<strong>3</strong> members in <strong>3</strong> countries" in home
    assert "3 researchers, clinicians, trainees and industry scientists in 3 countries" in about
    client.force_login(UserFactory())
    membership = client.get("/membership/").content.decode()
    for page in (home, about, membership):
        assert not re.search(r"more than \d|4,000|65 countries", page)


@time_machine.travel(NOW, tick=False)
def test_home_features_the_latest_edition(client):
    older = build_edition(label="2016", published_on=datetime.date(2016, 5, 1))
    latest = build_edition(label="2023", published_on=datetime.date(2023, 9, 20))
    body = client.get("/").content.decode()
    featured = body.split('class="featured-edition"', 1)[1].split("</article>", 1)[0]
    assert latest.get_absolute_url() in featured
    assert older.get_absolute_url() not in featured


# --- Edition reader -----------------------------------------------------------------------------------------


@override_settings(LANGUAGE_CODE="en")
def test_edition_header_does_not_repeat_the_kind_its_label_names(client):
    edition = build_edition(label="2025 targeted update", publish=False)
    Edition.objects.filter(pk=edition.pk).update(kind=Edition.Kind.TARGETED_UPDATE)
    edition_publish(edition=Edition.objects.get(pk=edition.pk), published_on=datetime.date(2025, 8, 14))
    full = build_edition(guideline=edition.guideline, label="2021", published_on=datetime.date(2021, 5, 1))
    targeted_page = client.get(edition.get_absolute_url()).content.decode()
    meta = targeted_page.split('class="edition-header__meta"', 1)[1].split("</p>", 1)[0]
    assert "2025 targeted update" in meta
    assert "Targeted update" not in meta
    full_meta = client.get(full.get_absolute_url()).content.decode().split('class="edition-header__meta"', 1)[1]
    assert "2021</strong> · Full edition" in full_meta.split("</p>", 1)[0]


def test_edition_contents_are_a_details_after_a_skip_link_to_the_text(client):
    body = client.get(build_edition().get_absolute_url()).content.decode()
    skip = body.index('<a class="skip-to-text" href="#edition-text">Skip to the text</a>')
    assert skip < body.index('<details class="toc">') < body.index('id="edition-text"')
