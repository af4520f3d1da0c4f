"""An order as a printable invoice or receipt, paying an approved order by card, and Stripe's webhook."""

import logging

from allauth.account.decorators import verified_email_required
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView, View

from members.models import Order, OrderStatus, PaymentProvider, Refund
from members.services import documents
from members.services import stripe as stripe_payments
from society.access import has_staff_powers

logger = logging.getLogger(__name__)


def _order_for(request, number) -> Order:
    """The order if it is the member's own, or any order for staff (having passed MFA); else 404, not 403."""
    orders = Order.objects.select_related("membership__user", "membership_type").filter(number=number)
    if not has_staff_powers(request):
        orders = orders.filter(membership__user=request.user)
    order = orders.first()
    if order is None:
        raise Http404
    return order


def _refund_for(request, number) -> Refund:
    refunds = Refund.objects.select_related("order__membership__user", "order__membership_type").filter(number=number)
    if not has_staff_powers(request):
        refunds = refunds.filter(order__membership__user=request.user)
    refund = refunds.first()
    if refund is None:
        raise Http404
    return refund


def _term_of(order):
    return getattr(order, "term", None) if order.status in (OrderStatus.PAID, OrderStatus.REFUNDED) else None


def _pdf_response(*, order, refund=None) -> HttpResponse:
    response = HttpResponse(documents.document_pdf(order=order, refund=refund), content_type="application/pdf")
    filename = documents.document_filename(order=order, refund=refund)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@method_decorator(verified_email_required, name="dispatch")
class OrderView(TemplateView):
    """A receipt or an invoice, printable. Owner or staff (having passed MFA) only; anyone else gets 404, not 403."""

    template_name = "members/order.html"

    def get_context_data(self, **kwargs):
        order = _order_for(self.request, kwargs["number"])
        return super().get_context_data(
            order=order,
            term=_term_of(order),
            society=documents.society_identity(),
            from_checkout=self.request.GET.get("checkout") == "done",
            bank_details=settings.SOCIETY_BANK_DETAILS,
            card_enabled=stripe_payments.is_enabled(),
            **kwargs,
        )


@method_decorator(verified_email_required, name="dispatch")
class OrderPdfView(View):
    """The invoice or receipt as a PDF, for the same people as the page."""

    def get(self, request, number):
        return _pdf_response(order=_order_for(request, number))


@method_decorator(verified_email_required, name="dispatch")
class CreditNoteView(TemplateView):
    """A refund's credit note, printable like the receipt. Owner or staff only; anyone else gets 404."""

    template_name = "members/credit_note.html"

    def get_context_data(self, **kwargs):
        refund = _refund_for(self.request, kwargs["number"])
        order = refund.order
        return super().get_context_data(
            refund=refund, order=order, term=_term_of(order), society=documents.society_identity(), **kwargs
        )


@method_decorator(verified_email_required, name="dispatch")
class CreditNotePdfView(View):
    def get(self, request, number):
        refund = _refund_for(request, number)
        return _pdf_response(order=refund.order, refund=refund)


@method_decorator(verified_email_required, name="dispatch")
class OrderPayView(View):
    """Pay an approved card order: POST only, the owner's own pending order, then off to Stripe Checkout."""

    def post(self, request, number):
        order = Order.objects.filter(
            number=number, membership__user=request.user, status=OrderStatus.PENDING, provider=PaymentProvider.STRIPE
        ).first()
        if order is None or order.awaits_approval or not stripe_payments.is_enabled():
            raise Http404
        try:
            return redirect(stripe_payments.checkout_session_url(order=order, request=request))
        except stripe_payments.CheckoutUnavailable:
            messages.error(request, _("The card payment service is not answering. Please try again later."))
            return redirect(order)


@csrf_exempt  # Stripe cannot send a CSRF token; the signature check authenticates the request instead.
@require_POST
def stripe_webhook(request):
    if not stripe_payments.is_enabled():
        raise Http404
    try:
        outcome = stripe_payments.webhook_process(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except stripe_payments.WebhookRejected as error:
        logger.warning("Stripe webhook rejected: %s", error)
        return HttpResponseBadRequest("rejected")
    return HttpResponse(outcome)
