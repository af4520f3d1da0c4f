"""The documents a member receives about an order (invoice, receipt, approval, cancelled invoice), written
to the outbox in the member's language, in the caller's transaction, once per order and kind."""

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from weasyprint import CSS, HTML

from members.models import Order, OrderStatus, Refund
from society.models import OutgoingEmail
from society.services.mail import email_enqueue_template

# The emails that carry their document as a PDF (made at send time: society.services.mail).
EMAILS_WITH_DOCUMENT = ("invoice", "receipt", "credit_note")

ORDER_EMAIL_SUBJECTS = {
    "invoice": _("Invoice %(number)s for your membership"),
    "receipt": _("Receipt %(number)s: your membership is paid"),
    "approved": _("Your application is approved: please pay order %(number)s"),
    "invoice_cancelled": _("Invoice %(number)s is cancelled: your membership is already paid"),
}


def order_email_send(*, order: Order, kind: str, paid: Order | None = None) -> None:
    """Write the order's `kind` email (members/email/<kind>.txt|html) to the outbox in the member's language,
    in the caller's transaction. Keyed by kind and order number, so a replayed payment notification or a
    double click never sends a second receipt or invoice."""
    user = order.membership.user
    context = {
        "user": user,
        "order": order,
        "number": order.number,
        "order_url": settings.SITE_URL + reverse("members:order", kwargs={"number": order.number}),
        "bank_details": settings.SOCIETY_BANK_DETAILS,
    }
    if kind == "receipt":
        context["term"] = order.term
    if paid is not None:
        context["paid"] = paid
    email_enqueue_template(
        to=user.email,
        language=user.language,
        subject=ORDER_EMAIL_SUBJECTS[kind],
        template=f"members/email/{kind}",
        context=context,
        kind=kind,
        key=_key(order=order, kind=kind),
    )


def order_email_was_sent(*, order: Order, kind: str) -> bool:
    return OutgoingEmail.objects.filter(idempotency_key=_key(order=order, kind=kind)).exists()


def _key(*, order: Order, kind: str) -> str:
    return f"{kind}:{order.number}"


def refund_email_send(*, refund) -> None:
    """The credit note email for one refund, keyed by the credit note's number: a partial refund and the full
    one that follows are two credit notes and two emails; a replayed Stripe event is neither."""
    order = refund.order
    user = order.membership.user
    email_enqueue_template(
        to=user.email,
        language=user.language,
        subject=_("Credit note %(number)s: your refund for order %(order_number)s"),
        template="members/email/credit_note",
        context={
            "user": user,
            "order": order,
            "refund": refund,
            "number": refund.number,
            "order_number": order.number,
            "credit_note_url": settings.SITE_URL + reverse("members:credit-note", kwargs={"number": refund.number}),
        },
        kind="credit_note",
        key=f"credit_note:{refund.number}",
    )


def society_identity() -> dict:
    """Who issues the documents: the legal name, address and tax/registration ids from settings."""
    return {
        "legal_name": settings.SOCIETY_LEGAL_NAME,
        "address": settings.SOCIETY_ADDRESS,
        "tax_ids": settings.SOCIETY_TAX_IDS,
    }


def document_title(*, order: Order, refund=None) -> str:
    if refund is not None:
        return f"{_('Credit note')} {refund.number}"
    if order.status in (OrderStatus.PAID, OrderStatus.REFUNDED):
        return f"{_('Receipt')} {order.number}"
    return f"{_('Invoice')} {order.number}"


def document_pdf(*, order: Order, refund=None) -> bytes:
    """The invoice, receipt or credit note as a PDF, from the same partial as the page, in the active language."""
    term = getattr(order, "term", None) if order.status in (OrderStatus.PAID, OrderStatus.REFUNDED) else None
    html = render_to_string(
        "members/document_pdf.html",
        {
            "order": order,
            "refund": refund,
            "term": term,
            "society": society_identity(),
            "title": document_title(order=order, refund=refund),
        },
    )
    stylesheet = CSS(filename=finders.find("css/document_pdf.css"))
    return HTML(string=html, base_url=settings.SITE_URL).write_pdf(stylesheets=[stylesheet])


def document_filename(*, order: Order, refund=None) -> str:
    return f"{refund.number if refund is not None else order.number}.pdf"


def email_attachment(email) -> tuple[str, bytes, str] | None:
    """The PDF an invoice, receipt or credit note email carries, made when the email is sent (the outbox row
    holds only its key, so the outbox stays small), in the member's language."""
    kind, _sep, number = email.related_key.partition(":")
    refund = None
    if kind == "credit_note":
        refund = Refund.objects.select_related("order__membership__user", "order__membership_type").get(number=number)
        order = refund.order
    else:
        order = Order.objects.select_related("membership__user", "membership_type").get(number=number)
    with translation.override(order.membership.user.language or settings.LANGUAGE_CODE):
        return (
            document_filename(order=order, refund=refund),
            document_pdf(order=order, refund=refund),
            "application/pdf",
        )
