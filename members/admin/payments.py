"""Staff pages for orders (approve, mark paid, refund) and the Stripe events that paid them."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from members.admin.base import RecordInline, action_form_page, apply_to_each
from members.forms.payments import RefundForm
from members.models import Order, StripeEvent
from members.services.payments import order_approve, order_mark_paid, order_refund
from society.admin.base import HistoryAdmin


class OrderInline(RecordInline):
    model = Order
    fields = ["number_link", "created_at", "membership_type", "amount", "currency", "status", "provider", "paid_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("membership_type")

    @admin.display(description=_("number"))
    def number_link(self, order):
        return format_html('<a href="{}">{}</a>', reverse("admin:members_order_change", args=[order.pk]), order.number)


def invoices_mark_paid(modeladmin, request, orders) -> None:
    """The bank transfers of these orders' invoices arrived: each unpaid invoice becomes paid, with its term and
    receipt. Orders of any other kind or state are left alone."""
    paid = 0
    for order in orders.unpaid_invoices():
        order_mark_paid(order=order, by=request.user)
        paid += 1
    modeladmin.message_user(request, ngettext("%d invoice marked paid.", "%d invoices marked paid.", paid) % paid)


class AwaitingApprovalFilter(admin.SimpleListFilter):
    title = _("approval")
    parameter_name = "approval"

    def lookups(self, request, model_admin):
        return [("waiting", _("Waiting for approval"))]

    def queryset(self, request, queryset):
        if self.value() == "waiting":
            return queryset.awaiting_approval()
        return queryset


@admin.register(Order)
class OrderAdmin(HistoryAdmin):
    list_display = [
        "number",
        "member",
        "membership_type",
        "amount",
        "currency",
        "band",
        "status",
        "provider",
        "created_at",
        "paid_at",
    ]
    list_filter = [AwaitingApprovalFilter, "status", "provider", "band", "membership_type"]
    search_fields = ["number", "membership__user__email", "membership__user__full_name", "provider_reference"]
    list_select_related = ["membership__user", "membership_type"]
    readonly_fields = [
        "number",
        "membership",
        "membership_type",
        "country",
        "band",
        "amount",
        "currency",
        "status",
        "provider",
        "provider_reference",
        "payment_intent",
        "note",
        "created_at",
        "paid_at",
        "created_by",
        "needs_approval",
        "applicant_statement",
        "approved_at",
        "approved_by",
        "refunded_at",
        "refund_reason",
        "refunded_by",
    ]
    actions = ["mark_paid", "approve", "refund"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # orders are the society's financial record

    @admin.display(description=_("member"), ordering="membership__user__full_name")
    def member(self, order):
        return order.membership.user

    @admin.action(description=_("Mark selected invoices paid (creates the term)"))
    def mark_paid(self, request, queryset):
        invoices_mark_paid(self, request, queryset)

    @admin.action(description=_("Approve selected applications (the member is emailed to pay)"))
    def approve(self, request, queryset):
        approved = 0
        for order in queryset.awaiting_approval():
            order_approve(order=order, by=request.user)
            approved += 1
        self.message_user(
            request, ngettext("%d application approved.", "%d applications approved.", approved) % approved
        )

    @admin.action(description=_("Refund selected orders…"))
    def refund(self, request, queryset):
        """Record refunds (money returned outside the portal or in Stripe's dashboard); voids their terms."""
        form = RefundForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            done = apply_to_each(
                self, request, queryset, lambda order: order_refund(order=order, reason=reason, by=request.user)
            )
            self.message_user(request, ngettext("%d order refunded.", "%d orders refunded.", done) % done)
            return None
        return action_form_page(
            self,
            request,
            template="admin/members/order/action_refund.html",
            title=_("Refund orders"),
            form=form,
            action="refund",
            orders=queryset.select_related("membership__user"),
        )


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "type", "received_at", "processed_at", "order"]
    list_filter = ["type"]
    list_select_related = ["order"]  # nullable, so the admin's automatic select_related skips it
    search_fields = ["event_id", "order__number"]
    readonly_fields = ["event_id", "type", "received_at", "processed_at", "order"]

    def has_add_permission(self, request):
        return False
