"""Auto-renew, the member's side: opting in (a card saved with Stripe at checkout or in setup mode) and out (on
/membership/ or by the signed one-click link in every notice), and the emails about it. The schedule is in
renewal_schedule.py, the charges in renewal_charges.py."""

from dataclasses import dataclass

import stripe as stripe_sdk
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from members.models import (
    AutoRenew,
    Membership,
    Order,
)
from members.services.stripe_api import CheckoutUnavailable, client
from society.models import OutgoingEmail
from society.services.mail import email_enqueue

OFF_LINK_SALT = "members.autorenew.off"
OFF_LINK_MAX_AGE = 60 * 60 * 24 * 90

MSG_NO_CARD = _("Add a card first: auto-renew charges a card saved with our payment provider.")
MSG_NOT_ALLOWED = _("Auto-renew is not available for this membership.")

EMAIL_SUBJECTS = {
    "autorenew_notice": _("Your membership renews automatically on %(charge_date)s"),
    "autorenew_failed": _("Your automatic renewal payment did not go through"),
    "autorenew_action_required": _("Please confirm your membership renewal payment"),
    "autorenew_card_expiring": _("Please update the card for your automatic renewal"),
}


@dataclass(frozen=True)
class SavedCard:
    customer: str
    payment_method: str
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None


# --- Opting in and out ----------------------------------------------------------------------------------


def autorenew_customer(*, membership: Membership) -> str:
    """The member's Stripe Customer id, created once (a network call: never inside a transaction)."""
    row = AutoRenew.objects.get_or_create(membership=membership)[0]
    if row.stripe_customer:
        return row.stripe_customer
    user = membership.user
    customer = client().v1.customers.create(
        {"email": user.email, "name": user.full_name[:256], "metadata": {"membership": str(membership.pk)}},
        # The same Customer however often a first checkout is retried.
        {"idempotency_key": f"customer-membership-{membership.pk}"},
    )
    with transaction.atomic():
        row = AutoRenew.objects.select_for_update().get(pk=row.pk)
        if not row.stripe_customer:
            row.stripe_customer = customer.id
            row.save(update_fields=["stripe_customer"])
    return row.stripe_customer


def card_setup_session_url(*, membership: Membership, request) -> str:
    """A Checkout Session in setup mode: the member adds or replaces the card auto-renew charges."""
    back = request.build_absolute_uri(reverse("members:home"))
    try:
        customer = autorenew_customer(membership=membership)
        session = client().v1.checkout.sessions.create(
            {
                "mode": "setup",
                "currency": settings.DUES_CURRENCY.lower(),
                "customer": customer,
                "client_reference_id": f"membership-{membership.pk}",
                "metadata": {"membership": str(membership.pk), "purpose": "auto_renew_card"},
                "success_url": back + "?card=done",
                "cancel_url": back,
            }
        )
    except stripe_sdk.StripeError as error:
        raise CheckoutUnavailable(str(error)) from error
    return session.url


@transaction.atomic
def autorenew_card_save(*, membership: Membership, card: SavedCard) -> AutoRenew | None:
    """Keep the card Stripe saved (ids, brand, last 4, expiry only) and turn auto-renew on: the member chose it."""
    membership = Membership.objects.select_for_update().filter(pk=membership.pk).first()
    if membership is None:
        return None  # e.g. a webhook naming a membership that does not exist: nothing to save
    row = AutoRenew.objects.select_for_update().filter(membership=membership).first() or AutoRenew(
        membership=membership
    )
    row.stripe_customer = card.customer
    row.payment_method = card.payment_method
    row.card_brand = card.brand[:30]
    row.card_last4 = card.last4 if len(card.last4) == 4 and card.last4.isdigit() else ""
    row.card_exp_month = card.exp_month if card.exp_month and 1 <= card.exp_month <= 12 else None
    row.card_exp_year = card.exp_year
    row.enabled = True
    row.stopped_reason = ""
    row.updated_at = timezone.now()
    row.save()
    return row


@transaction.atomic
def autorenew_set(*, membership: Membership, enabled: bool) -> AutoRenew:
    """Turn auto-renew on or off. The membership row lock makes an "off" wait for, or be seen by, a charge
    being claimed at that moment: a charge never starts after "off" has committed."""
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    row = AutoRenew.objects.select_for_update().filter(membership=membership).first()
    if row is None or not row.has_card:
        if not enabled:
            return row or AutoRenew(membership=membership)
        raise ValidationError(MSG_NO_CARD, code="no_card")
    if enabled and (membership.cancelled_at is not None or not membership.user.is_active):
        raise ValidationError(MSG_NOT_ALLOWED, code="not_allowed")
    if row.enabled != enabled:
        row.enabled = enabled
        row.stopped_reason = ""
        row.updated_at = timezone.now()
        row.save(update_fields=["enabled", "stopped_reason", "updated_at"])
    return row


def off_link_token(*, membership: Membership) -> str:
    return signing.dumps({"m": membership.pk}, salt=OFF_LINK_SALT, compress=True)


def off_link_membership(*, token: str) -> Membership | None:
    """The membership a one-click "turn off" link names, or None when it is tampered with or expired."""
    try:
        data = signing.loads(token, salt=OFF_LINK_SALT, max_age=OFF_LINK_MAX_AGE)
    except signing.BadSignature:
        return None
    return Membership.objects.filter(pk=data.get("m")).select_related("user").first()


def off_link_url(*, membership: Membership) -> str:
    return settings.SITE_URL + reverse("members:autorenew-off", kwargs={"token": off_link_token(membership=membership)})


def _render(*, row: AutoRenew, kind: str, context: dict) -> tuple[str, str, str]:
    """Subject, text and HTML of an auto-renew email, in the member's language (dates included)."""
    user = row.membership.user
    context = {
        "site_url": settings.SITE_URL,
        "SOCIETY_NAME": settings.SOCIETY_NAME,
        "user": user,
        "card": row,
        "membership_url": settings.SITE_URL + reverse("members:home"),
        "off_url": off_link_url(membership=row.membership),
        **context,
    }
    with translation.override(user.language or settings.LANGUAGE_CODE):
        if "charge_on" in context:
            context["charge_date"] = date_format(context["charge_on"], "DATE_FORMAT")
        subject = " ".join((str(EMAIL_SUBJECTS[kind]) % context).split())[:255]
        text = render_to_string(f"members/email/{kind}.txt", context)
        html = render_to_string(f"members/email/{kind}.html", context)
    return subject, text, html


def autorenew_email(*, row: AutoRenew, kind: str, key: str, context: dict) -> OutgoingEmail:
    """Write an auto-renew email to the outbox, in the caller's transaction; `key` makes it once only."""
    subject, text, html = _render(row=row, kind=kind, context=context)
    return email_enqueue(
        to=row.membership.user.email, subject=subject, text=text, html=html, kind=kind, key=key, related_key=key
    )


def autorenew_email_unsaved(*, row: AutoRenew, kind: str, key: str, context: dict) -> OutgoingEmail:
    """The same email as an unsaved row, for a batch written with emails_enqueue_bulk."""
    subject, text, html = _render(row=row, kind=kind, context=context)
    return OutgoingEmail(
        to=row.membership.user.email,
        subject=subject,
        text_body=text,
        html_body=html,
        kind=kind,
        related_key=key,
        idempotency_key=key,
    )


# --- Cards saved through Checkout (called by members.services.stripe.webhook_process) ---------------------


def card_from_payment_method(*, customer: str, payment_method: dict) -> SavedCard | None:
    card = payment_method.get("card") if isinstance(payment_method, dict) else None
    if not isinstance(card, dict) or not isinstance(payment_method.get("id"), str):
        return None
    return SavedCard(
        customer=customer,
        payment_method=payment_method["id"][:255],
        brand=str(card.get("brand") or ""),
        last4=str(card.get("last4") or ""),
        exp_month=card.get("exp_month") if isinstance(card.get("exp_month"), int) else None,
        exp_year=card.get("exp_year") if isinstance(card.get("exp_year"), int) else None,
    )


def saved_card_of_session(*, session: dict) -> tuple[int, SavedCard] | None:
    """For a completed Checkout Session that saved a card for auto-renew: (membership id, the card), asking
    Stripe for the card's details. A network call: the webhook makes it before opening its transaction."""
    metadata = session.get("metadata") if isinstance(session.get("metadata"), dict) else {}
    customer = session.get("customer")
    if not isinstance(customer, str) or not customer:
        return None
    api = client().v1
    if session.get("mode") == "setup" and metadata.get("purpose") == "auto_renew_card":
        membership_id = str(metadata.get("membership") or "")
        if not membership_id.isdigit() or not isinstance(session.get("setup_intent"), str):
            return None
        intent = api.setup_intents.retrieve(session["setup_intent"], {"expand": ["payment_method"]})
    elif session.get("mode") == "payment" and metadata.get("auto_renew") == "1":
        order = Order.objects.filter(number=str(metadata.get("order_number") or "")[:20]).first()
        if order is None or not isinstance(session.get("payment_intent"), str):
            return None
        membership_id = str(order.membership_id)
        intent = api.payment_intents.retrieve(session["payment_intent"], {"expand": ["payment_method"]})
    else:
        return None
    card = card_from_payment_method(customer=customer, payment_method=intent.to_dict().get("payment_method"))
    return (int(membership_id), card) if card else None


def membership_autorenew(*, membership: Membership) -> AutoRenew | None:
    return AutoRenew.objects.filter(membership=membership).first()
