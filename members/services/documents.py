"""The documents a member receives about an order (invoice, receipt, approval, cancelled invoice), written
to the outbox in the member's language, in the caller's transaction, once per order and kind."""

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from members.models import Order
from society.models import OutgoingEmail
from society.services.mail import email_enqueue_template

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
