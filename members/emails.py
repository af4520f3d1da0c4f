"""Emails to members about their orders. All go through the outbox: written in the caller's transaction,
sent by Celery after commit, once per key."""

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from members.services.outbox import email_enqueue


def send_member_email(*, user, subject: str, template: str, context: dict, kind: str, key: str) -> None:
    """Render `<template>.txt` and `<template>.html` in the member's language and write them to the outbox.

    `key` makes the email idempotent: a replayed payment notification cannot send a second receipt.
    """
    context = {"user": user, "site_url": settings.SITE_URL, "SOCIETY_NAME": settings.SOCIETY_NAME, **context}
    with translation.override(getattr(user, "language", None) or settings.LANGUAGE_CODE):
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
        subject = str(subject)
    email_enqueue(to=user.email, subject=subject, text=text, html=html, kind=kind, key=key, related_key=key)


def _order_context(order) -> dict:
    return {
        "order": order,
        "order_url": settings.SITE_URL + reverse("members:order", kwargs={"number": order.number}),
        "bank_details": settings.SOCIETY_BANK_DETAILS,
    }


def send_invoice(*, order) -> None:
    user = order.membership.user
    with translation.override(user.language or settings.LANGUAGE_CODE):
        subject = gettext("Invoice %(number)s for your membership") % {"number": order.number}
    send_member_email(
        user=user,
        subject=subject,
        template="members/email/invoice",
        context=_order_context(order),
        kind="invoice",
        key=f"invoice:{order.number}",
    )


def send_receipt(*, order) -> None:
    user = order.membership.user
    with translation.override(user.language or settings.LANGUAGE_CODE):
        subject = gettext("Receipt %(number)s: your membership is paid") % {"number": order.number}
    send_member_email(
        user=user,
        subject=subject,
        template="members/email/receipt",
        context={**_order_context(order), "term": order.term},
        kind="receipt",
        key=f"receipt:{order.number}",
    )


def send_approved(*, order) -> None:
    """The application is approved: an invoice to pay by transfer, or a link to pay by card."""
    if order.provider == "invoice":
        send_invoice(order=order)
        return
    user = order.membership.user
    with translation.override(user.language or settings.LANGUAGE_CODE):
        subject = gettext("Your application is approved: please pay order %(number)s") % {"number": order.number}
    send_member_email(
        user=user,
        subject=subject,
        template="members/email/approved",
        context=_order_context(order),
        kind="approved",
        key=f"approved:{order.number}",
    )
