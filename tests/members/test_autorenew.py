"""Auto-renew, day by day on a frozen calendar, against a local server answering like Stripe's API.

The membership ends on 31 January 2027 (E). With the default setting (charge 7 days before the end) the
notice is due on E-21 (10 January), the charge on E-7 (24 January); a declined charge is retried 2, 4 and
7 days after the first try, then auto-renew stops.
"""

import datetime
import json
import time
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from members.models import (
    AutoRenew,
    AutoRenewSettings,
    ChargeStatus,
    Membership,
    MembershipStatus,
    Order,
    OrderStatus,
    Price,
    RenewalCharge,
    RenewalNotice,
    Term,
)
from members.models.memberships import membership_status
from members.services import autorenew as service
from members.services import renewal_charges as charges
from members.services.accounts import user_erase
from members.services.memberships import membership_cancel
from members.services.stripe import client
from members.tasks import run_auto_renewals
from society.models import OutgoingEmail
from society.settings import base
from tests.concurrency import errors_of, race
from tests.factories import OrderFactory, TermFactory, UserFactory, price_matrix
from tests.members.test_stripe import deliver as stripe_deliver
from tests.workers import wait_for

D = datetime.date
END = D(2027, 1, 31)
NOTICE_DAY = END - datetime.timedelta(days=21)
CHARGE_DAY = END - datetime.timedelta(days=7)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings")]


@pytest.fixture
def fake(fake_stripe):
    return fake_stripe


@pytest.fixture
def full():
    return price_matrix("Full")["Full"]


def member_with_auto_renew(full, *, card="pm_card_visa", exp=(12, 2034), country="DE", end=END) -> Membership:
    user = UserFactory(country=country, language="en")
    membership = Membership.objects.create(user=user)
    TermFactory(membership=membership, membership_type=full, end=end)
    AutoRenew.objects.create(
        membership=membership,
        enabled=True,
        stripe_customer="cus_test0000000001",
        payment_method=card,
        card_brand="visa",
        card_last4="4242",
        card_exp_month=exp[0],
        card_exp_year=exp[1],
    )
    return membership


def on(day: datetime.date):
    return time_machine.travel(datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC), tick=False)


def run_on(day: datetime.date) -> list[str]:
    """The job on `day`, then the charge tasks it queued, as a worker would run them."""
    with on(day):
        run = charges.autorenew_run()
        return [charges.autorenew_charge(membership_id=membership_id) for membership_id in run.charge_ids]


def days(start: datetime.date, stop: datetime.date):
    while start <= stop:
        yield start
        start += datetime.timedelta(days=1)


def emails(kind: str):
    return list(OutgoingEmail.objects.filter(kind=kind).order_by("pk"))


def renewal_terms(membership):
    return list(Term.objects.filter(membership=membership, start__gt=END).values_list("start", "end"))


def deliver(client, event: dict):
    return stripe_deliver(client, json.dumps(event))


def event(event_type: str, obj: dict, event_id: str = "evt_autorenew_1") -> dict:
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2025-01-27.acacia",
        "data": {"object": obj},
    }


# --- The calendar -------------------------------------------------------------------------------------------


def test_notice_on_day_minus_21_then_one_charge_on_day_minus_7_and_one_term(full, fake):
    membership = member_with_auto_renew(full)
    for day in days(NOTICE_DAY - datetime.timedelta(days=30), NOTICE_DAY - datetime.timedelta(days=1)):
        run_on(day)
    assert emails("autorenew_notice") == []

    run_on(NOTICE_DAY)
    [notice_email] = emails("autorenew_notice")
    assert notice_email.to == membership.user.email
    assert "$200.00" in notice_email.text_body
    assert "Jan. 24, 2027" in notice_email.text_body
    assert "Visa ending 4242, expires 12/2034" in notice_email.text_body
    assert "/membership/auto-renew/off/" in notice_email.text_body
    notice = RenewalNotice.objects.get()
    assert (notice.amount, notice.currency, notice.band, notice.sent_on, notice.charge_on) == (
        Decimal("200.00"),
        "USD",
        "high",
        NOTICE_DAY,
        CHARGE_DAY,
    )

    for day in days(NOTICE_DAY, CHARGE_DAY - datetime.timedelta(days=1)):
        run_on(day)
    assert fake.charges() == []
    assert len(emails("autorenew_notice")) == 1

    assert run_on(CHARGE_DAY) == ["paid"]
    [intent] = fake.charges()
    assert (intent["amount"], intent["currency"], intent["customer"], intent["payment_method"]) == (
        20000,
        "usd",
        "cus_test0000000001",
        "pm_card_visa",
    )
    request = next(r for r in fake.requests if r["path"] == "/v1/payment_intents")
    assert request["form"]["off_session"] == "true"
    assert request["form"]["confirm"] == "true"
    assert request["headers"]["Idempotency-Key"] == f"autorenew-{membership.pk}-term-{notice.term_id}-try-1"
    assert renewal_terms(membership) == [(D(2027, 2, 1), D(2028, 1, 31))]
    order = Order.objects.get(membership=membership)
    assert (order.status, order.payment_intent, order.amount) == (OrderStatus.PAID, intent["id"], Decimal("200.00"))
    assert len(emails("receipt")) == 1

    for day in days(CHARGE_DAY, END):
        run_on(day)
    assert len(fake.charges()) == 1
    assert len(renewal_terms(membership)) == 1


def test_declined_card_is_retried_three_times_over_seven_days_then_auto_renew_stops_and_the_member_lapses(full, fake):
    membership = member_with_auto_renew(full, card="pm_card_chargeDeclined")
    for day in days(NOTICE_DAY, END + datetime.timedelta(days=10)):
        run_on(day)

    attempts = RenewalCharge.objects.order_by("attempt")
    assert [(a.attempt, a.attempted_on, a.status) for a in attempts] == [
        (1, CHARGE_DAY, ChargeStatus.FAILED),
        (2, CHARGE_DAY + datetime.timedelta(days=2), ChargeStatus.FAILED),
        (3, CHARGE_DAY + datetime.timedelta(days=4), ChargeStatus.FAILED),
        (4, CHARGE_DAY + datetime.timedelta(days=7), ChargeStatus.FAILED),
    ]
    assert len(fake.charges()) == 4
    failed = emails("autorenew_failed")
    assert len(failed) == 4
    assert all("/membership/auto-renew/card/" in email.text_body for email in failed)
    assert "We will not try again: auto-renew is now off." in failed[-1].text_body
    assert "We will try up to 3 more times" in failed[0].text_body
    auto_renew = AutoRenew.objects.get()
    assert not auto_renew.enabled
    assert auto_renew.stopped_reason
    assert renewal_terms(membership) == []
    # The ordinary calendar takes over: grace, then lapse.
    assert membership_status(today=END + datetime.timedelta(days=10), last_end=END) == MembershipStatus.GRACE
    for day in days(END + datetime.timedelta(days=11), END + datetime.timedelta(days=40)):
        run_on(day)
    assert len(fake.charges()) == 4
    assert membership_status(today=END + datetime.timedelta(days=40), last_end=END) == MembershipStatus.LAPSED


def test_a_retry_that_succeeds_renews_once(full, fake):
    membership = member_with_auto_renew(full, card="pm_card_chargeDeclined")
    run_on(NOTICE_DAY)
    assert run_on(CHARGE_DAY) == ["declined"]
    fake.card_outcome["pm_card_chargeDeclined"] = "succeed"  # the bank lifts its block
    run_on(CHARGE_DAY + datetime.timedelta(days=1))
    assert run_on(CHARGE_DAY + datetime.timedelta(days=2)) == ["paid"]
    assert renewal_terms(membership) == [(D(2027, 2, 1), D(2028, 1, 31))]
    # The retry paid the order the first try created: one order for the period.
    assert list(Order.objects.values_list("status", flat=True)) == [OrderStatus.PAID]
    for day in days(CHARGE_DAY + datetime.timedelta(days=3), END):
        run_on(day)
    assert len(fake.charges()) == 2


def test_a_price_change_after_the_notice_means_a_new_notice_and_14_more_days(full, fake):
    membership = member_with_auto_renew(full)
    run_on(NOTICE_DAY)
    change_day = END - datetime.timedelta(days=10)
    Price.objects.filter(membership_type=full, band="high").update(amount=Decimal("250.00"))
    run_on(change_day)
    notices = emails("autorenew_notice")
    assert len(notices) == 2
    assert "$250.00" in notices[1].text_body
    new_charge_day = change_day + datetime.timedelta(days=14)
    assert RenewalNotice.objects.order_by("created_at").last().charge_on == new_charge_day

    for day in days(change_day, new_charge_day - datetime.timedelta(days=1)):
        run_on(day)
    assert fake.charges() == []
    assert run_on(new_charge_day) == ["paid"]
    assert [intent["amount"] for intent in fake.charges()] == [25000]
    # Charged in grace, the new term still continues from the old end.
    assert renewal_terms(membership) == [(D(2027, 2, 1), D(2028, 1, 31))]


def test_a_band_change_after_the_notice_also_needs_a_new_notice(full, fake):
    membership = member_with_auto_renew(full)
    run_on(NOTICE_DAY)
    membership.user.country = "BR"  # the member moved: upper-middle band
    membership.user.save(update_fields=["country"])
    assert run_on(CHARGE_DAY) == []
    assert fake.charges() == []
    latest = RenewalNotice.objects.order_by("created_at").last()
    assert (latest.band, latest.amount) == ("upper_middle", Decimal("100.00"))


def test_member_turns_it_off_by_the_emailed_link_between_notice_and_charge(full, fake):
    membership = member_with_auto_renew(full)
    run_on(NOTICE_DAY)
    link = emails("autorenew_notice")[0].text_body.split("one click: ")[1].split()[0]
    path = link.removeprefix("http://localhost:8000")
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(path)
    assert page.status_code == 200
    assert "Turn auto-renew off" in page.content.decode()
    assert AutoRenew.objects.get().enabled  # a GET (a mail scanner following links) changes nothing
    token = page.cookies["csrftoken"].value
    done = browser.post(path, {"csrfmiddlewaretoken": token})
    assert "Your card will not be charged" in done.content.decode()
    assert not AutoRenew.objects.get().enabled

    for day in days(NOTICE_DAY, END):
        run_on(day)
    assert fake.charges() == []
    assert renewal_terms(membership) == []


def test_a_tampered_off_link_gets_a_clear_page_and_changes_nothing(full, client):
    member_with_auto_renew(full)
    page = client.get("/membership/auto-renew/off/not-a-token/")
    assert page.status_code == 400
    assert "This link is not valid or has expired" in page.content.decode()
    assert client.post("/membership/auto-renew/off/not-a-token/").status_code == 400
    assert AutoRenew.objects.get().enabled


def test_turned_off_after_the_job_queued_the_charge_is_not_charged(full, fake):
    membership = member_with_auto_renew(full)
    run_on(NOTICE_DAY)
    with on(CHARGE_DAY):
        run = charges.autorenew_run()
        assert run.charge_ids == [membership.pk]
        service.autorenew_set(membership=membership, enabled=False)  # a second before the worker takes the task
        assert charges.autorenew_charge(membership_id=membership.pk) == "nothing due"
    assert fake.charges() == []


@pytest.mark.parametrize(
    "condition",
    ["cancelled", "erased", "turned_off", "pending_approval", "lapsed"],
)
def test_never_charged(full, fake, condition):
    membership = member_with_auto_renew(full)
    run_on(NOTICE_DAY)
    assert len(emails("autorenew_notice")) == 1
    if condition == "cancelled":
        membership_cancel(membership=membership, reason="Left the field", by=None)
    elif condition == "erased":
        membership.user.is_active = False
        membership.user.save(update_fields=["is_active"])
    elif condition == "turned_off":
        service.autorenew_set(membership=membership, enabled=False)
    elif condition == "pending_approval":
        student = price_matrix("Student")["Student"]
        student.requires_approval = True
        student.save()
        OrderFactory(membership=membership, membership_type=student, needs_approval=True)
    for day in days(NOTICE_DAY, END + datetime.timedelta(days=60 if condition == "lapsed" else 0)):
        if condition == "lapsed" and day < END + datetime.timedelta(days=31):
            continue  # the job did not run until the membership had lapsed
        run_on(day)
    assert fake.charges() == []
    assert RenewalCharge.objects.count() == 0


def test_no_charge_without_a_notice_turned_on_late_waits_14_days(full, fake):
    membership = member_with_auto_renew(full)
    AutoRenew.objects.update(enabled=False)
    late = CHARGE_DAY - datetime.timedelta(days=1)
    run_on(NOTICE_DAY)
    assert emails("autorenew_notice") == []
    with on(late):
        service.autorenew_set(membership=membership, enabled=True)
    run_on(late)
    assert RenewalNotice.objects.get().charge_on == late + datetime.timedelta(days=14)
    for day in days(late, late + datetime.timedelta(days=13)):
        run_on(day)
    assert fake.charges() == []
    assert run_on(late + datetime.timedelta(days=14)) == ["paid"]


def test_the_staff_setting_moves_the_charge_day(full, fake):
    AutoRenewSettings.objects.create(pk=1, charge_days_before_end=10)
    member_with_auto_renew(full)
    assert run_on(END - datetime.timedelta(days=25)) == []
    assert not RenewalNotice.objects.exists()
    run_on(END - datetime.timedelta(days=24))
    assert RenewalNotice.objects.get().charge_on == END - datetime.timedelta(days=10)
    assert run_on(END - datetime.timedelta(days=11)) == []
    assert run_on(END - datetime.timedelta(days=10)) == ["paid"]


def test_requires_action_emails_the_member_to_complete_the_payment_and_adds_no_term(full, fake):
    membership = member_with_auto_renew(full, card="pm_card_authenticationRequired")
    run_on(NOTICE_DAY)
    assert run_on(CHARGE_DAY) == ["requires action"]
    [email] = emails("autorenew_action_required")
    order = Order.objects.get()
    assert order.status == OrderStatus.PENDING
    assert f"/membership/orders/{order.number}/" in email.text_body
    assert renewal_terms(membership) == []
    for day in days(CHARGE_DAY, END):
        run_on(day)
    assert len(fake.charges()) == 1  # off-session retries cannot authenticate: the member pays the order
    assert len(emails("autorenew_action_required")) == 1


def test_card_expiring_before_the_charge_date_gets_one_email_30_days_ahead(full, fake):
    member_with_auto_renew(full, exp=(12, 2026))
    warn_day = CHARGE_DAY - datetime.timedelta(days=30)
    for day in days(warn_day - datetime.timedelta(days=10), warn_day - datetime.timedelta(days=1)):
        run_on(day)
    assert emails("autorenew_card_expiring") == []
    for day in days(warn_day, warn_day + datetime.timedelta(days=5)):
        run_on(day)
    [email] = emails("autorenew_card_expiring")
    assert "expires 12/2026" in email.text_body
    assert "/membership/auto-renew/card/" in email.text_body


def test_each_email_is_sent_once_even_when_the_job_runs_many_times_a_day(full, fake):
    member_with_auto_renew(full, card="pm_card_chargeDeclined")
    for _ in range(3):
        run_on(NOTICE_DAY)
        run_on(CHARGE_DAY)
    assert len(emails("autorenew_notice")) == 1
    assert len(emails("autorenew_failed")) == 1
    assert len(fake.charges()) == 1


# --- Webhooks -----------------------------------------------------------------------------------------------


def succeeded_event(intent: dict, event_id: str) -> dict:
    return event("payment_intent.succeeded", intent, event_id)


def test_webhook_replay_creates_one_term(full, fake, client):
    membership = member_with_auto_renew(full)
    run_on(NOTICE_DAY)
    run_on(CHARGE_DAY)
    [intent] = fake.charges()
    with on(CHARGE_DAY):
        outcomes = [deliver(client, succeeded_event(intent, "evt_pi_1")).content for _ in range(3)]
        outcomes.append(deliver(client, succeeded_event(intent, "evt_pi_2")).content)  # another event, same intent
    assert outcomes == [b"paid", b"duplicate", b"duplicate", b"paid"]
    assert renewal_terms(membership) == [(D(2027, 2, 1), D(2028, 1, 31))]
    assert len(emails("receipt")) == 1


def test_webhook_success_before_the_synchronous_answer_pays_once(full, fake, client):
    """Stripe's event can arrive before the worker records the charge's own answer."""
    membership = member_with_auto_renew(full)
    run_on(NOTICE_DAY)
    with on(CHARGE_DAY):
        charge = charges._claim(membership_id=membership.pk, today=CHARGE_DAY)
        intent = {
            "id": "pi_test_webhook_first",
            "object": "payment_intent",
            "amount": 20000,
            "amount_received": 20000,
            "currency": "usd",
            "status": "succeeded",
            "metadata": {"order_number": charge.order.number, "renewal_charge": str(charge.pk)},
        }
        assert deliver(client, succeeded_event(intent, "evt_first")).content == b"paid"
        assert charges.charge_record(charge_id=charge.pk, status="succeeded", payment_intent=intent["id"]) == (
            "already recorded"
        )
        assert charges.autorenew_charge(membership_id=membership.pk) == "nothing due"
    assert renewal_terms(membership) == [(D(2027, 2, 1), D(2028, 1, 31))]


def test_payment_failed_webhook_records_the_decline_once(full, fake, client):
    membership = member_with_auto_renew(full)
    run_on(NOTICE_DAY)
    with on(CHARGE_DAY):
        charge = charges._claim(membership_id=membership.pk, today=CHARGE_DAY)
        intent = {
            "id": "pi_test_failed",
            "object": "payment_intent",
            "amount": 20000,
            "currency": "usd",
            "status": "requires_payment_method",
            "last_payment_error": {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds"},
            "metadata": {"order_number": charge.order.number, "renewal_charge": str(charge.pk)},
        }
        first = deliver(client, event("payment_intent.payment_failed", intent, "evt_f1")).content
        again = deliver(client, event("payment_intent.payment_failed", intent, "evt_f2")).content
    assert (first, again) == (b"declined", b"already recorded")
    charge.refresh_from_db()
    assert (charge.status, charge.decline_code) == (ChargeStatus.FAILED, "insufficient_funds")
    assert len(emails("autorenew_failed")) == 1


def test_a_webhook_for_an_unknown_renewal_charge_is_rejected(full, fake, client):
    intent = {"id": "pi_x", "object": "payment_intent", "metadata": {"renewal_charge": "999", "order_number": "X"}}
    assert deliver(client, succeeded_event(intent, "evt_unknown")).status_code == 400


# --- Concurrency ------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_job_runs_at_once_charge_once(fake):
    full = price_matrix("Full")["Full"]
    membership = member_with_auto_renew(full)
    run_on(NOTICE_DAY)

    def reads_the_attempts(sql: str) -> bool:
        return sql.startswith("SELECT") and 'FROM "members_renewalcharge"' in sql

    with on(CHARGE_DAY):
        outcomes = race(
            lambda: charges.autorenew_charge(membership_id=membership.pk),
            lambda: charges.autorenew_charge(membership_id=membership.pk),
            decides=reads_the_attempts,
        )
    assert errors_of(outcomes) == []
    assert sorted(outcome.result for outcome in outcomes) == ["nothing due", "paid"]
    assert len(fake.charges()) == 1
    assert renewal_terms(membership) == [(D(2027, 2, 1), D(2028, 1, 31))]


# --- Opting in, the toggle and the card --------------------------------------------------------------------


def test_opting_in_at_card_checkout_saves_the_card_with_stripe(full, fake, client):
    user = UserFactory(country="DE")
    TermFactory(membership=Membership.objects.create(user=user), membership_type=full, end=END)
    with on(END - datetime.timedelta(days=30)):
        client.force_login(user)
        response = client.post(
            "/membership/renew/", {"membership_type": full.pk, "provider": "stripe", "auto_renew": "on"}
        )
        assert response.status_code == 302
        session_request = next(r for r in fake.requests if r["path"] == "/v1/checkout/sessions")
        form = session_request["form"]
        assert form["payment_intent_data[setup_future_usage]"] == "off_session"
        assert form["customer"].startswith("cus_test")
        order = Order.objects.get()
        fake.payment_intents["pi_checkout"] = {
            "id": "pi_checkout",
            "object": "payment_intent",
            "payment_method": "pm_card_visa",
            "status": "succeeded",
        }
        session = {
            "id": order.provider_reference,
            "object": "checkout.session",
            "mode": "payment",
            "amount_total": 20000,
            "currency": "usd",
            "customer": form["customer"],
            "payment_intent": "pi_checkout",
            "client_reference_id": order.number,
            "metadata": {"order_number": order.number, "auto_renew": "1"},
            "payment_status": "paid",
            "status": "complete",
        }
        assert deliver(client, event("checkout.session.completed", session, "evt_cs")).content == b"paid"
    saved = AutoRenew.objects.get()
    assert (saved.enabled, saved.stripe_customer, saved.payment_method) == (True, form["customer"], "pm_card_visa")
    assert (saved.card_brand, saved.card_last4, saved.card_exp_month, saved.card_exp_year) == ("visa", "4242", 12, 2034)


def test_adding_a_card_in_setup_mode_turns_auto_renew_on(full, fake, client):
    user = UserFactory(country="DE")
    membership = Membership.objects.create(user=user)
    TermFactory(membership=membership, membership_type=full, end=END)
    client.force_login(user)
    fake.add_card("pm_card_mastercard", brand="mastercard", last4="4444", exp_month=3, exp_year=2031)
    fake.setup_card = "pm_card_mastercard"
    response = client.post("/membership/auto-renew/card/")
    assert response["Location"].startswith("https://checkout.stripe.com/")
    form = next(r for r in fake.requests if r["path"] == "/v1/checkout/sessions")["form"]
    assert form["mode"] == "setup"
    session = next(iter(fake.sessions.values()))
    assert deliver(client, event("checkout.session.completed", session, "evt_setup")).content == b"card saved"
    saved = AutoRenew.objects.get(membership=membership)
    assert (saved.enabled, saved.card_brand, saved.card_last4, saved.payment_method) == (
        True,
        "mastercard",
        "4444",
        "pm_card_mastercard",
    )


def test_toggle_on_the_membership_page_needs_a_post_with_csrf(full, fake):
    membership = member_with_auto_renew(full)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(membership.user)
    with on(END - datetime.timedelta(days=60)):
        page = browser.get("/membership/")
        assert "your Visa card ending 4242" in page.content.decode()
        assert browser.post("/membership/auto-renew/", {"enabled": "off"}).status_code == 403
        assert AutoRenew.objects.get().enabled
        token = page.cookies["csrftoken"].value
        browser.post("/membership/auto-renew/", {"enabled": "off", "csrfmiddlewaretoken": token})
        assert not AutoRenew.objects.get().enabled
        browser.post("/membership/auto-renew/", {"enabled": "on", "csrfmiddlewaretoken": token})
        assert AutoRenew.objects.get().enabled


def test_turning_on_without_a_card_goes_to_stripe_to_add_one(full, fake, client):
    user = UserFactory(country="DE")
    TermFactory(membership=Membership.objects.create(user=user), membership_type=full, end=END)
    client.force_login(user)
    response = client.post("/membership/auto-renew/", {"enabled": "on"})
    assert response["Location"].startswith("https://checkout.stripe.com/")
    assert not AutoRenew.objects.filter(enabled=True).exists()


def test_stripe_api_base_defaults_to_stripe_and_the_client_uses_the_setting(settings):
    assert base.STRIPE_API_BASE == "https://api.stripe.com"
    settings.STRIPE_API_BASE = "http://127.0.0.1:1"
    assert client().v1.customers._requestor.base_addresses["api"] == "http://127.0.0.1:1"


def test_an_attempt_whose_worker_died_is_charged_again_after_its_lease_under_the_same_key(full, fake):
    membership = member_with_auto_renew(full)
    run_on(NOTICE_DAY)
    noon = datetime.datetime.combine(CHARGE_DAY, datetime.time(12), tzinfo=datetime.UTC)
    with time_machine.travel(noon, tick=False):
        charge = charges._claim(membership_id=membership.pk, today=CHARGE_DAY)  # then the worker died
        assert charges.autorenew_run().charge_ids == []  # its lease still holds: nobody else charges
    with time_machine.travel(noon + charges.CHARGE_LEASE + datetime.timedelta(seconds=1), tick=False):
        run = charges.autorenew_run()
        assert [charges.autorenew_charge(membership_id=m) for m in run.charge_ids] == ["paid"]
    request = next(r for r in fake.requests if r["path"] == "/v1/payment_intents")
    assert request["headers"]["Idempotency-Key"] == charges.charge_idempotency_key(charge)
    assert RenewalCharge.objects.get().status == ChargeStatus.SUCCEEDED
    assert renewal_terms(membership) == [(D(2027, 2, 1), D(2028, 1, 31))]


def test_the_notice_is_written_in_the_members_language_dates_included(full, fake):
    membership = member_with_auto_renew(full)
    membership.user.language = "fr"
    membership.user.save(update_fields=["language"])
    run_on(NOTICE_DAY)
    [email] = emails("autorenew_notice")
    assert email.subject == "Votre adhésion sera renouvelée automatiquement le 24 janvier 2027"
    assert "Désactiver le renouvellement automatique" in email.html_body


@pytest.mark.django_db(transaction=True)
def test_two_job_runs_at_once_send_one_notice(fake):
    full = price_matrix("Full")["Full"]
    member_with_auto_renew(full)

    def reads_the_notices(sql: str) -> bool:
        return sql.startswith("SELECT") and 'FROM "members_renewalnotice"' in sql

    with on(NOTICE_DAY):
        outcomes = race(charges.autorenew_run, charges.autorenew_run, decides=reads_the_notices)
    assert errors_of(outcomes) == []
    assert sorted(outcome.result.notices for outcome in outcomes) == [0, 1]
    assert RenewalNotice.objects.count() == 1
    assert len(emails("autorenew_notice")) == 1


def test_a_price_change_after_a_decline_holds_the_retries_until_14_days_after_the_new_notice(full, fake):
    membership = member_with_auto_renew(full, card="pm_card_chargeDeclined")
    run_on(NOTICE_DAY)
    assert run_on(CHARGE_DAY) == ["declined"]
    Price.objects.filter(membership_type=full, band="high").update(amount=Decimal("250.00"))
    fake.card_outcome["pm_card_chargeDeclined"] = "succeed"
    renotice_day = CHARGE_DAY + datetime.timedelta(days=1)
    run_on(renotice_day)
    for day in days(renotice_day, renotice_day + datetime.timedelta(days=13)):
        assert run_on(day) == []
    assert run_on(renotice_day + datetime.timedelta(days=14)) == ["paid"]
    assert [intent["amount"] for intent in fake.charges()] == [20000, 25000]
    assert renewal_terms(membership) == [(D(2027, 2, 1), D(2028, 1, 31))]


def test_erasing_the_account_forgets_the_card_and_turns_auto_renew_off(full, fake):
    membership = member_with_auto_renew(full)
    user_erase(user=membership.user)
    saved = AutoRenew.objects.get()
    assert (saved.enabled, saved.stripe_customer, saved.payment_method, saved.card_last4, saved.card_exp_year) == (
        False,
        "",
        "",
        "",
        None,
    )
    for day in days(NOTICE_DAY, END):
        run_on(day)
    assert fake.charges() == []
    assert emails("autorenew_notice") == []


def test_beat_job_to_worker_to_stripe_end_to_end(celery_worker, smtp_server, fake):
    """The beat task and the charge task it queues, run by a real worker: one charge, one term, one receipt."""
    full = price_matrix("Full")["Full"]
    today = timezone.localdate()
    membership = member_with_auto_renew(full, end=today + datetime.timedelta(days=7))
    term = membership.terms.get()
    email = OutgoingEmail.objects.create(to=membership.user.email, subject="Notice", text_body="-", kind="test")
    RenewalNotice.objects.create(
        membership=membership,
        term=term,
        membership_type=full,
        band="high",
        amount=Decimal("200.00"),
        currency="USD",
        sent_on=today - datetime.timedelta(days=14),
        charge_on=today,
        email=email,
    )
    run_auto_renewals.delay()

    wait_for(lambda: Term.objects.filter(membership=membership).count() == 2, message="the renewed term")
    wait_for(lambda: smtp_server.handler.count() >= 1, message="the receipt at the SMTP server")
    assert len(fake.charges()) == 1
    assert list(Order.objects.values_list("status", flat=True)) == [OrderStatus.PAID]
