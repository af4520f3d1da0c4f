"""The order page's money-back tools: refund (through Stripe, or as the office did it), reconcile a card order
with Stripe, and the list of its refunds with their credit notes."""

import uuid

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from members.admin.base import RecordInline
from members.forms.payments import CardRefundForm, OfficeRefundForm
from members.models import Order, PaymentProvider, Refund
from members.services import stripe as stripe_payments
from members.services.refunds import refund_card, refund_record, refundable_amount


class RefundInline(RecordInline):
    model = Refund
    fields = ["number_link", "refunded_on", "amount", "currency", "method", "reference", "reason", "recorded_by"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recorded_by")

    @admin.display(description=_("credit note"))
    def number_link(self, refund):
        return format_html('<a href="{}">{}</a>', refund.get_absolute_url(), refund.number)


class OrderRefundsMixin:
    """For OrderAdmin: the Refund and Reconcile pages of one order."""

    def refund_urls(self):
        return [
            path("<int:pk>/refund/", self.admin_site.admin_view(self.refund_view), name="members_order_refund"),
            path(
                "<int:pk>/reconcile/", self.admin_site.admin_view(self.reconcile_view), name="members_order_reconcile"
            ),
        ]

    def refund_view(self, request, pk):
        """Give money back for one order, all or part: through Stripe for a card order, else as the office did."""
        order = get_object_or_404(Order.objects.select_related("membership__user"), pk=pk)
        if not self.has_change_permission(request, order):
            return redirect("admin:members_order_change", pk)
        refundable = refundable_amount(order)
        by_card = order.provider == PaymentProvider.STRIPE
        form_class = CardRefundForm if by_card else OfficeRefundForm
        initial = {"amount": refundable or None, "request_key": uuid.uuid4().hex}
        form = form_class(request.POST or None, initial=initial, refundable=refundable)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if by_card:
                    refund = refund_card(order=order, by=request.user, **data)
                else:
                    data.pop("request_key")
                    refund = refund_record(order=order, by=request.user, **data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(
                    request,
                    _("Refunded %(amount)s %(currency)s; credit note %(number)s sent to the member.")
                    % {"amount": refund.amount, "currency": refund.currency, "number": refund.number},
                )
                return redirect("admin:members_order_change", order.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Refund order %(number)s") % {"number": order.number},
            "order": order,
            "refundable": refundable,
            "by_card": by_card,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/members/order/refund.html", context)

    def reconcile_view(self, request, pk):
        """Ask Stripe about a pending card order now, instead of waiting for a webhook that may be lost."""
        order = get_object_or_404(Order, pk=pk)
        if request.method != "POST" or not self.has_change_permission(request, order):
            return redirect("admin:members_order_change", pk)
        try:
            outcome = stripe_payments.order_reconcile(order=order)
        except stripe_payments.ReconcileUnavailable as error:
            self.message_user(
                request,
                _("Stripe could not be asked; nothing was changed: %(error)s") % {"error": error},
                messages.ERROR,
            )
        except ValidationError as error:
            self.message_user(request, "; ".join(error.messages), messages.ERROR)
        else:
            if outcome == "paid":
                self.message_user(
                    request, _("Stripe says order %(number)s is paid: recorded.") % {"number": order.number}
                )
            else:
                self.message_user(
                    request,
                    _("Stripe has no payment for order %(number)s (%(state)s); nothing was changed.")
                    % {"number": order.number, "state": outcome},
                    messages.WARNING,
                )
        return redirect("admin:members_order_change", pk)
