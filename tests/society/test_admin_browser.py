"""Every admin page, with the demo data, in a real Chromium: no serious or critical axe finding at 1280 px, no
console error (a CSP violation is one), and the project's own admin views fit a 390 px phone."""

import datetime
import io
from decimal import Decimal

import pytest
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from members.models import (
    Announcement,
    AutoRenew,
    AutoRenewSettings,
    ImportStatus,
    MemberImport,
    Membership,
    Order,
    OrderStatus,
    Payment,
    PaymentMethod,
    ReminderDelivery,
    ReminderRule,
    StripeEvent,
    Term,
)
from members.services.refunds import refund_record
from society.models import JobHeartbeat, OutgoingEmail
from tests.clients import Client
from tests.factories import StaffFactory, default_reminder_rules
from tests.test_admin_queries import PAGES as ROW_BUILDERS

pytestmark = pytest.mark.browser

SERIOUS = {"serious", "critical"}
STANDARD_VIEWS = {"changelist", "add", "change", "history", "delete"}
# Admin URLs that are not pages: a CSV download, a POST-only action, the admin's own plumbing.
NOT_PAGES = {
    "members_membership_export",
    "members_order_export",
    "members_payment_export",
    "members_user_export",
    "members_membership_retention_csv",
    "society_export_download",
    "members_order_reconcile",
    "members_reminderrule_preview_email",  # the email's own HTML, framed by the preview page
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "autocomplete",
    "jsi18n",
    "view_on_site",
}


@pytest.fixture
def demo(transactional_db):
    """The demo data, plus a row of each kind the demo leaves out, so every change page has an object."""
    call_command("seed_demo", "--force", stdout=io.StringIO())
    order = Order.objects.filter(status=OrderStatus.PAID).select_related("membership").first()
    payment = Payment.objects.create(
        order=order,
        amount=Decimal("10.00"),
        currency=order.currency,
        received_on=datetime.date(2026, 11, 2),
        method=PaymentMethod.CHEQUE,
        reference="CHQ 1",
        recorded_by=StaffFactory(),
    )
    refund_record(
        order=order,
        amount=Decimal("5.00"),
        method=PaymentMethod.CHEQUE,
        refunded_on=datetime.date(2026, 11, 3),
        reason="Paid twice",
    )
    email = OutgoingEmail.objects.create(to="m@example.org", subject="Renew", text_body="Body", kind="test")
    term = Term.objects.filter(membership=order.membership).first()
    ReminderDelivery.objects.create(
        membership=order.membership, term=term, rule=default_reminder_rules()[0], email=email
    )
    StripeEvent.objects.create(event_id="evt_1", type="checkout.session.completed", order=order)
    JobHeartbeat.objects.get_or_create(
        name="demo-job", defaults={"last_run_at": timezone.now(), "last_result": {"ok": 1}}
    )
    MemberImport.objects.create(file_name="members.csv", content="email\n", total_rows=1, status=ImportStatus.DONE)
    AutoRenewSettings.current()
    AutoRenew.objects.create(
        membership=order.membership,
        enabled=True,
        stripe_customer="cus_1",
        payment_method="pm_1",
        card_brand="visa",
        card_last4="4242",
        card_exp_month=12,
        card_exp_year=2030,
    )
    # The third-party models registered with the admin: a group, and an ORCID sign-in with its token.
    Group.objects.get_or_create(name="Membership office")
    app = SocialApp.objects.create(provider="orcid", name="ORCID", client_id="APP-TEST", secret="s3cret")
    account = SocialAccount.objects.create(user=order.membership.user, provider="orcid", uid="0000-0002-1825-0097")
    SocialToken.objects.create(app=app, account=account, token="token")
    return {"order": order, "payment": payment}


def log_in(page, user, live_server):
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])


def model_pages(user) -> list[str]:
    """Changelist, add, change, history and delete of one object of every registered model, as the user may."""
    request = RequestFactory().get("/admin/")
    request.user = user
    urls = [reverse("admin:index")]
    for app_label in sorted({model._meta.app_label for model in admin.site._registry}):
        urls.append(reverse("admin:app_list", args=[app_label]))
    for model, model_admin in admin.site._registry.items():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls.append(reverse(f"{prefix}_changelist"))
        if model_admin.has_add_permission(request):
            urls.append(reverse(f"{prefix}_add"))
        obj = model._default_manager.order_by("pk").first()
        if obj is None and model._meta.label in ROW_BUILDERS:
            obj = ROW_BUILDERS[model._meta.label][0]()  # a model the demo data leaves out: the query test's row
        assert obj is not None, f"no {model._meta.label} to open: add one to the demo fixture"
        urls += [reverse(f"{prefix}_change", args=[obj.pk]), reverse(f"{prefix}_history", args=[obj.pk])]
        if hasattr(model, "history") and obj.history.exists():
            urls.append(reverse(f"{prefix}_simple_history", args=[obj.pk, obj.history.first().history_id]))
        if model_admin.has_delete_permission(request, obj):
            urls.append(reverse(f"{prefix}_delete", args=[obj.pk]))
    return urls


def custom_names() -> set[str]:
    names = set()
    for pattern in admin.site.get_urls():
        for sub in getattr(pattern, "url_patterns", [pattern]):
            name = sub.name or ""
            suffix = name.rsplit("_", 1)[-1]
            standard = suffix in STANDARD_VIEWS or name.endswith("_simple_history")
            if name and not standard and name not in {"index", "app_list", *NOT_PAGES}:
                names.add(name)
    return names


def custom_pages(demo) -> dict[str, str]:
    """The project's own admin views, by URL name; a new one fails the test until it is listed here."""
    order = demo["order"]
    pages = {
        "members_membership_dashboard": reverse("admin:members_membership_dashboard"),
        "members_membership_import": reverse("admin:members_membership_import"),
        "members_membership_import_progress": reverse(
            "admin:members_membership_import_progress", args=[MemberImport.objects.get().pk]
        ),
        "members_order_payment": reverse("admin:members_order_payment", args=[order.pk]),
        "members_order_refund": reverse("admin:members_order_refund", args=[order.pk]),
        "members_order_new": reverse("admin:members_order_new"),
        "members_payment_accounting": reverse("admin:members_payment_accounting"),
        "guidelines_edition_import": reverse("admin:guidelines_edition_import"),
        "guidelines_edition_translations": reverse("admin:guidelines_edition_translations"),
        "members_membership_retention": reverse("admin:members_membership_retention"),
    }
    announcement = Announcement.objects.order_by("pk").first() or ROW_BUILDERS["members.Announcement"][0]()
    pages["members_announcement_send"] = reverse("admin:members_announcement_send", args=[announcement.pk])
    rule = ReminderRule.objects.order_by("pk").first()
    member = Membership.objects.filter(terms__isnull=False).first().user
    preview = reverse("admin:members_reminderrule_preview", args=[rule.pk])
    pages["members_reminderrule_preview"] = f"{preview}?member={member.pk}"
    assert set(pages) == custom_names()
    return pages


def problems_on(page, url, runner, console_errors) -> list[str]:
    console_errors.clear()
    response = page.goto(url)
    if response.status != 200:
        return [f"{url}: status {response.status}"]
    found = [f"{url}: console error {error}" for error in console_errors]
    for violation in runner.run(page).response["violations"]:
        if violation["impact"] in SERIOUS:
            targets = ", ".join(str(node["target"]) for node in violation["nodes"][:3])
            found.append(f"{url}: {violation['id']} ({violation['impact']}) {targets}")
    return found


@pytest.mark.parametrize("width", [1280, 390])
def test_every_admin_page_has_no_serious_axe_violation(page, live_server, demo, width):
    staff = StaffFactory(is_superuser=True)
    log_in(page, staff, live_server)
    page.set_viewport_size({"width": width, "height": 900})
    console_errors = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    runner = Axe()
    urls = [*model_pages(staff), *custom_pages(demo).values()]
    problems = []
    for url in urls:
        problems += problems_on(page, url, runner, console_errors)
        # The page itself never scrolls sideways; a wide changelist scrolls inside its own box.
        overflow = page.evaluate("document.documentElement.scrollWidth") - width
        if overflow > 0:
            problems.append(f"{url}: {overflow} px wider than {width} px")
    assert problems == [], "\n".join(problems)


def test_the_projects_own_admin_pages_fit_a_phone(page, live_server, demo):
    log_in(page, StaffFactory(is_superuser=True), live_server)
    page.set_viewport_size({"width": 390, "height": 844})
    console_errors = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    runner = Axe()
    problems = []
    for url in custom_pages(demo).values():
        # Status, console (CSP) and axe at phone width too, then the width itself.
        problems += problems_on(page, url, runner, console_errors)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            problems.append(f"{url}: {width} px")
    assert problems == [], "\n".join(problems)


def test_membership_changelist_fits_1280_px_without_the_side_navigation(page, live_server, demo):
    log_in(page, StaffFactory(is_superuser=True), live_server)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(reverse("admin:members_membership_changelist"))
    assert page.locator("#nav-sidebar").count() == 0
    results = page.locator("#changelist .results")
    # No column is cut off at the right: the table needs no sideways scrolling inside its box.
    assert results.evaluate("box => box.scrollWidth <= box.clientWidth")
    right = results.evaluate("box => box.getBoundingClientRect().right")
    ends = page.locator("#result_list td.field-end_date")
    assert ends.count() == 50
    assert max(ends.evaluate_all("cells => cells.map(cell => cell.getBoundingClientRect().right)")) <= right
    # Each name is one line: the cell is two lines tall (name, email), never three.
    heights = page.locator("#result_list th.field-member").evaluate_all(
        "cells => cells.map(cell => cell.querySelector('a').getClientRects().length)"
    )
    assert set(heights) <= {1, 2}
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    # Other pages keep the navigation.
    page.goto(reverse("admin:members_membership_dashboard"))
    assert page.locator("#nav-sidebar").count() == 1


def test_admin_wears_the_society_colours_in_light_and_dark(page, live_server, demo):
    log_in(page, StaffFactory(is_superuser=True), live_server)
    runner = Axe()
    primary = "getComputedStyle(document.documentElement).getPropertyValue('--primary').trim()"
    for scheme, colour in [("light", "#143d5c"), ("dark", "#1f4e73")]:
        page.emulate_media(color_scheme=scheme)
        for url in [reverse("admin:members_membership_dashboard"), reverse("admin:members_membership_changelist")]:
            page.goto(url)
            assert page.evaluate(primary) == colour, (scheme, url)
            serious = [v["id"] for v in runner.run(page).response["violations"] if v["impact"] in SERIOUS]
            assert serious == [], (scheme, url)


def test_reminder_preview_finds_the_member_by_search_and_shows_the_email_as_sent(page, live_server, demo):
    member = Membership.objects.filter(terms__isnull=False, cancelled_at=None).select_related("user").first().user
    rule = ReminderRule.objects.order_by("pk").first()
    log_in(page, StaffFactory(is_superuser=True), live_server)
    console_errors = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    page.goto(reverse("admin:members_reminderrule_preview", args=[rule.pk]))
    page.locator(".select2-selection").click()
    page.locator(".select2-search__field").fill(member.email)
    page.locator(".select2-results__option", has_text=member.full_name).click()
    page.get_by_role("button", name="Preview for this member").click()
    page.get_by_role("heading", name=f"As {member} would receive it").wait_for()

    # The HTML part keeps its inline styles (its own policy), in a frame that runs no script.
    frame = page.frame_locator("iframe.email-preview-frame")
    frame.locator("body").wait_for()
    assert member.full_name in frame.locator("body").inner_text()
    # The body's inline background (#f4f5f7) applies; a policy refusing inline styles leaves it transparent.
    assert frame.locator("body").evaluate("body => getComputedStyle(body).backgroundColor") == "rgb(244, 245, 247)"
    assert page.locator("iframe.email-preview-frame").get_attribute("sandbox") == ""
    assert console_errors == []

    # The text part scrolls in its own box, and the keyboard reaches it.
    text = page.locator("pre.email-preview-text")
    assert text.get_attribute("tabindex") == "0"
    page.get_by_role("button", name="Preview for this member").focus()  # past the navigation, as after a search
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.matches('pre.email-preview-text')")
    assert text.evaluate("pre => pre.scrollHeight > pre.clientHeight || getComputedStyle(pre).overflowY === 'auto'")
    page.keyboard.press("End")
    assert text.evaluate("pre => pre.scrollTop === pre.scrollHeight - pre.clientHeight")
