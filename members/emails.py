"""Emails to members about their orders. All go through the outbox: written in the caller's transaction,
sent by Celery after commit, once per key."""

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from members.services.outbox import email_enqueue


def send_member_email(*, user, subject: str, template: str, context: dict, kind: str, key: str) -> None:
    """Render the subject (lazy, `%`-formatted with `context`), `<template>.txt` and `<template>.html` in the
    member's language and write them to the outbox.

    `key` makes the email idempotent: a replayed payment notification cannot send a second receipt.
    """
    context = {"user": user, "site_url": settings.SITE_URL, "SOCIETY_NAME": settings.SOCIETY_NAME, **context}
    with translation.override(getattr(user, "language", None) or settings.LANGUAGE_CODE):
        subject = str(subject) % context
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    email_enqueue(to=user.email, subject=subject, text=text, html=html, kind=kind, key=key, related_key=key)


def _send_order_email(*, order, kind: str, subject: str, extra: dict | None = None) -> None:
    context = {
        "order": order,
        "number": order.number,
        "order_url": settings.SITE_URL + reverse("members:order", kwargs={"number": order.number}),
        "bank_details": settings.SOCIETY_BANK_DETAILS,
        **(extra or {}),
    }
    send_member_email(
        user=order.membership.user,
        subject=subject,
        template=f"members/email/{kind}",
        context=context,
        kind=kind,
        key=f"{kind}:{order.number}",
    )


def send_invoice(*, order) -> None:
    _send_order_email(order=order, kind="invoice", subject=_("Invoice %(number)s for your membership"))


def send_receipt(*, order) -> None:
    _send_order_email(
        order=order,
        kind="receipt",
        subject=_("Receipt %(number)s: your membership is paid"),
        extra={"term": order.term},
    )


def send_approved(*, order) -> None:
    """The application is approved: an invoice to pay by transfer, or a link to pay by card."""
    if order.provider == "invoice":
        send_invoice(order=order)
        return
    _send_order_email(
        order=order, kind="approved", subject=_("Your application is approved: please pay order %(number)s")
    )
