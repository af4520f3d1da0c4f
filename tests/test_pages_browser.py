"""Every public and member URL pattern, visited in Chromium with the demo data at a desktop and a phone width:
each answers 200 (or the status it is meant to), logs no console error and no Content Security Policy
violation, scrolls no wider than the screen, and has no serious or critical axe-core violation. Screenshots of
the key pages are written under the test run's temporary directory for review (never committed).

Every pattern is visited unless NOT_PAGES says why it is no page to look at (a feed, a file download, a POST
endpoint, a hand-over to ORCID, a staff preview), so a new URL pattern is looked at without anyone listing it."""

import io
import re
import time
from urllib.parse import urlsplit

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.core.management import call_command

from guidelines.models import Edition
from guidelines.services.alerts import (
    alert_confirm_token,
    alert_link_urls,
    alert_manage_token,
    alert_subscribe,
)
from members.demo import DEMO_MEMBER_PASSWORD
from members.models import Membership, Order, OrderStatus
from members.services.announcements import unsubscribe_url as announcement_unsubscribe_url
from members.services.autorenew import off_link_token
from members.services.refunds import refund_record_in_full
from members.services.renew_links import renew_links_create
from society.models import NewsArticle
from tests.crawl import all_patterns

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
SERIOUS = {"serious", "critical"}

# Patterns that are no page for a person to look at, and why.
NOT_PAGES = {
    "healthz/": "a JSON health check",
    "robots.txt": "plain text for crawlers",
    "sitemap.xml": "XML for crawlers",
    "sitemap-<section>.xml": "XML for crawlers",
    "news/feed/rss/": "a feed",
    "news/feed/atom/": "a feed",
    "guidelines/feed/": "a feed",
    "guidelines/<guideline>/feed/": "a feed (tests/guidelines/test_change_feeds.py)",
    "guidelines/<guideline>/feed/<provision>/": "a feed (tests/guidelines/test_change_feeds.py)",
    "alerts/mine/cancel/": "POST only (the cancel buttons on the profile)",
    "guidelines/<guideline>/<edition>.json": "a data download",
    "membership/orders/<number>/pdf/": "a PDF download (tests/members/test_documents.py)",
    "membership/credit-notes/<number>/pdf/": "a PDF download (tests/members/test_documents.py)",
    "membership/profile/export/": "a JSON download",
    "accounts/2fa/recovery-codes/download/": "a text download, only with two-factor set up",
    "media/<path>": "uploaded files",
    "payments/stripe/webhook/": "POST only, for Stripe",
    "i18n/setlang/": "POST only, Django's language form",
    "membership/auto-renew/": "POST only (the toggle on the membership page)",
    "membership/orders/<number>/pay/": "POST only (the Pay by card button)",
    "membership/renew/link/": "POST only (the form on the renew-link page)",
    "accounts/orcid/login/": "hands over to orcid.org",
    "accounts/orcid/login/callback/": "ORCID's return address, needs ORCID's answer",
    "accounts/2fa/authenticate/": "the second step of logging in with two factors (visited by log_in below)",
    "news/preview/<pk>/": "a staff preview (staff pages are crawled with the admin)",
    "guidelines/<guideline>/<edition>/preview/": "a staff preview (staff pages are crawled with the admin)",
}

# Patterns a member looks at signed in; every other page is looked at as an anonymous visitor.
MEMBER_PREFIXES = (
    "membership/",
    "accounts/email/",
    "accounts/password/change/",
    "accounts/password/set/",
    "accounts/reauthenticate/",
    "accounts/2fa/",
    "accounts/3rdparty/",
    "accounts/social/connections/",
    "accounts/logout/",
)
# Pages of a second member, with a refunded order and two-factor authentication set up.
SECOND_MEMBER = {
    "membership/credit-notes/<number>/",
    "accounts/2fa/totp/deactivate/",
    "accounts/2fa/recovery-codes/",
    "accounts/2fa/recovery-codes/generate/",
}
# Pages that answer something other than 200 on purpose.
EXPECTED_STATUS = {"accounts/3rdparty/login/error/": 401, "accounts/social/login/error/": 401}
# Pages whose screenshots are kept for review.
KEY_PAGES = {
    "",
    "about/",
    "news/",
    "guidelines/",
    "guidelines/<guideline>/<edition>/",
    "guidelines/<guideline>/compare/<old>/<new>/",
    "accounts/login/",
    "accounts/signup/",
    "membership/",
    "membership/renew/",
    "membership/orders/<number>/",
    "membership/profile/",
    "membership/directory/",
    "accounts/email/",
}

# Listens before any page script runs (an init script is not inline code, so the CSP does not apply to it).
CSP_LISTENER = """document.addEventListener("securitypolicyviolation", (event) => {
  (window.__cspViolations = window.__cspViolations || []).push(event.violatedDirective + " " + event.blockedURI);
});"""
OVERFLOW_JS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
# Sentence case for the interface's own words (buttons, labels, folded sections): "Remember Me" is caught,
# "ORCID iD" and "Continue with ORCID" are not (a word in capitals or with inner capitals is a name).
TITLE_CASE_JS = r"""() => [...document.querySelectorAll("main button, main .button, main label, main summary, main legend")]
  .map((element) => element.textContent.trim().replace(/\s+/g, " "))
  .filter((text) => { const words = text.split(" ").filter((word) => /^\p{L}{2,}$/u.test(word));
    return words.length >= 2 && words.every((word) => /^\p{Lu}\p{Ll}+$/u.test(word)); })"""
# The button rule (README "Design"): at most one primary button in sight, the page's main action.
PRIMARY_BUTTONS_JS = """() => [...document.querySelectorAll("main .button")].filter((button) => button.offsetParent !== null
  && !button.matches(".button--secondary, .button--danger, .button--link")).map((button) => button.textContent.trim())"""


def route_of(pattern) -> str:
    return "".join(part if isinstance(part, str) else f"<{part[0]}>" for part in pattern.parts)


@pytest.fixture
def demo(transactional_db):
    call_command("seed_demo", "--force", stdout=io.StringIO())
    membership = (
        Membership.objects.with_access()
        .filter(lifetime=False, orders__status=OrderStatus.PAID)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    order = membership.orders.filter(status=OrderStatus.PAID).order_by("pk").first()
    # A credit note to look at: another member's paid order, refunded; that member also has two factors.
    other = Order.objects.filter(status=OrderStatus.PAID).exclude(membership=membership).order_by("pk").first()
    secret = generate_totp_secret()
    TOTP.activate(other.membership.user, secret)
    RecoveryCodes.activate(other.membership.user)
    refund = refund_record_in_full(order=other, reason="Paid twice", by=None)
    edition = Edition.objects.current().select_related("guideline").order_by("guideline__order", "pk").first()
    previous = Edition.objects.filter(
        guideline=edition.guideline, language=edition.language, published_on__lt=edition.published_on
    )
    provision = edition.versions.select_related("provision").order_by("order").last().provision
    # A reader's alert waiting for confirmation, for the pages its emails link to.
    subscription = alert_subscribe(
        email="reader@lab.example", guideline=edition.guideline, provision=provision, language="en"
    )
    values = {
        "guideline": edition.guideline.slug,
        "edition": edition.slug,
        "old": previous.order_by("-published_on").first().slug,
        "new": edition.slug,
        "provision": provision.slug,
        "slug": NewsArticle.objects.published().public().order_by("pk").first().slug,
        "number": order.number,
        "code": "de",
        "section": "news",
        "token": "",
        "key": "not-a-key",
        "uidb36": "1",
    }
    specific = {
        "pages/<slug>/": "/pages/about/",  # redirects to /about/, the About page's one address
        "membership/credit-notes/<number>/": f"/membership/credit-notes/{refund.number}/",
        "membership/renew/link/<token>/": urlsplit(
            renew_links_create(user_ids=[membership.user_id])[membership.user_id]
        ).path,
        "membership/auto-renew/off/<token>/": f"/membership/auto-renew/off/{off_link_token(membership=membership)}/",
        "alerts/follow/": f"/alerts/follow/?guideline={edition.guideline.slug}&provision={provision.slug}",
        "alerts/confirm/<token>/": f"/alerts/confirm/{alert_confirm_token(subscription=subscription)}/",
        "alerts/manage/<token>/": f"/alerts/manage/{alert_manage_token(email=subscription.email)}/",
        "alerts/unsubscribe/<token>/": urlsplit(
            alert_link_urls(email=subscription.email, guideline_id=edition.guideline_id)["unsubscribe_url"]
        ).path,
        "membership/announcements/unsubscribe/<token>/": urlsplit(
            announcement_unsubscribe_url(user_id=membership.user_id)
        ).path,
    }
    pages = {}
    for pattern in all_patterns():
        route = route_of(pattern)
        if route.startswith("admin/") or route in NOT_PAGES:
            continue
        if route in SECOND_MEMBER:
            role = "second member"
        else:
            role = "member" if route.startswith(MEMBER_PREFIXES) else "anonymous"
        pages[route] = (role, specific.get(route) or pattern.fill(values, default="x"))
    users = {"member": (membership.user, None), "second member": (other.membership.user, secret)}
    return {"pages": pages, "users": users}


def log_in(page, user, totp_secret=None):
    """Through the form, as a member does: pages that ask to confirm access (email, deletion) then open."""
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(DEMO_MEMBER_PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    if totp_secret:
        page.wait_for_url(re.compile(r".*/accounts/2fa/authenticate/"))
        code = format_hotp_value(hotp_value(totp_secret, int(time.time()) // settings.MFA_TOTP_PERIOD))
        page.get_by_label("Code").fill(code)
        page.locator("main").get_by_role("button").first.click()
        page.wait_for_url(lambda url: "/accounts/2fa/" not in url)


def problems_on(page, axe, path, expected_status) -> list[str]:
    errors = []
    listener = lambda message: errors.append(message.text) if message.type == "error" else None  # noqa: E731
    page.on("console", listener)
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        response = page.goto(path)
        page.wait_for_load_state("load")
        found = []
        if response is None or response.status != expected_status:
            found.append(f"status {response and response.status}")
        # A page meant to answer 401 logs its own status as a failed load; nothing else may log an error.
        expected_log = f"status of {expected_status}"
        found += [f"console: {text[:160]}" for text in errors if expected_status == 200 or expected_log not in text]
        found += [f"CSP: {text}" for text in page.evaluate("() => window.__cspViolations || []")]
        if (overflow := page.evaluate(OVERFLOW_JS)) > 0:
            found.append(f"{overflow}px wider than the screen")
        found += [f"title case: {text}" for text in page.evaluate(TITLE_CASE_JS)]
        if page.locator("main [placeholder]").count():
            found.append("a placeholder (labels say what to type)")
        if len(primary := page.evaluate(PRIMARY_BUTTONS_JS)) > 1:
            found.append(f"{len(primary)} primary buttons: {primary}")
        violations = axe.run(page).response["violations"]
        found += [f"axe {v['impact']}: {v['id']} ({len(v['nodes'])})" for v in violations if v["impact"] in SERIOUS]
        return found
    finally:
        page.remove_listener("console", listener)


@pytest.mark.parametrize("width", WIDTHS)
def test_every_public_and_member_page_is_clean_at_desktop_and_phone_width(
    browser, live_server, demo, width, tmp_path_factory
):
    shots = tmp_path_factory.mktemp(f"screenshots-{width}")
    axe = Axe()
    failures, visited = [], 0
    for role in ("anonymous", "member", "second member"):
        context = browser.new_context(
            base_url=live_server.url,
            locale="en-GB",
            viewport=dict(zip(("width", "height"), WIDTHS[width], strict=True)),
        )
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        page.set_default_timeout(15_000)
        if role != "anonymous":
            log_in(page, *demo["users"][role])
        for route, (page_role, path) in demo["pages"].items():
            if page_role != role:
                continue
            visited += 1
            found = problems_on(page, axe, path, EXPECTED_STATUS.get(route, 200))
            failures += [f"{width} {role} {path}: {problem}" for problem in found]
            if route in KEY_PAGES:
                name = route.strip("/").replace("/", "_").replace("<", "").replace(">", "") or "home"
                page.screenshot(path=shots / f"{name}.png", full_page=True)
        context.close()
    assert failures == [], "\n".join(failures)
    # Every pattern that is a page was looked at (the demo fixture would have raised on an unknown role).
    assert visited == len(demo["pages"])
    assert len(list(shots.glob("*.png"))) == len(KEY_PAGES)
