"""Staff pages for orders (approve, record payments, mark paid, refund), the payments received, and the
Stripe events that paid them."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from members.admin.base import RecordInline, action_form_page, apply_to_each
from members.admin.refunds import OrderRefundsMixin, RefundInline
from members.forms.payments import (
    AccountingExportForm,
    OfficeOrderForm,
    PaymentForm,
    PaymentReceivedForm,
    RefundForm,
)
from members.models import (
    IncomeBand,
    Order,
    OrderStatus,
    Payment,
    PaymentMethod,
    PaymentProvider,
    PaymentReview,
    StripeEvent,
)
from members.selectors import accounting_tables
from members.services.ledger import payment_mark_reviewed, payment_record
from members.services.payments import office_order_create, order_approve
from members.services.refunds import refund_record_in_full
from society.admin.base import HistoryAdmin, LargeTableAdminMixin
from society.admin.exports import BackgroundExportMixin, labelled
from society.exports import csv_response, xlsx_response

ORDER_CSV_HEADER = [
    "number",
    "email",
    "full name",
    "membership type",
    "amount",
    "currency",
    "band",
    "status",
    "payment method",
    "created",
    "paid",
]
PAYMENT_CSV_HEADER = ["received on", "order", "email", "amount", "currency", "method", "reference", "review"]


class OrderInline(RecordInline):
    model = Order
    fields = ["number_link", "created_at", "membership_type", "amount", "currency", "status", "provider", "paid_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("membership_type")

    @admin.display(description=_("number"))
    def number_link(self, order):
        return format_html('<a href="{}">{}</a>', reverse("admin:members_order_change", args=[order.pk]), order.number)


class PaymentInline(RecordInline):
    model = Payment
    fields = ["received_on", "amount", "currency", "method", "reference", "note", "review", "recorded_by"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order", "recorded_by")  # str(payment) names the order


def invoices_mark_paid(modeladmin, request, selected, orders, *, action: str):
    """The bank transfers of these orders' invoices arrived. Staff first say when and how the money came;
    then each unpaid invoice is settled by a payment of what is still due, received that day, which pays it
    (term from that day, receipt). Orders of any other kind or state are left alone."""
    form = PaymentReceivedForm(request.POST if "apply" in request.POST else None)
    invoices = orders.unpaid_invoices().select_related("membership__user")
    if not (form.is_bound and form.is_valid()):
        return action_form_page(
            modeladmin,
            request,
            template="admin/members/order/action_mark_paid.html",
            title=_("Mark invoices paid"),
            form=form,
            action=action,
            selected=selected,
            orders=invoices,
        )
    paid = 0
    for order in invoices:
        due = order.amount - order.payments.total()
        if due > 0:
            payment_record(order=order, amount=due, by=request.user, **form.cleaned_data)
            paid += 1
    modeladmin.message_user(request, ngettext("%d invoice marked paid.", "%d invoices marked paid.", paid) % paid)
    return None


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
class OrderAdmin(LargeTableAdminMixin, BackgroundExportMixin, OrderRefundsMixin, HistoryAdmin):
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
    list_per_page = 50  # as memberships': a search for a common name then reads half as many orders
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
    inlines = [PaymentInline, RefundInline]

    def get_search_results(self, request, queryset, search_term):
        # search_fields, read through the trigram indexes of order numbers and members' emails and names.
        return queryset.searched_by_staff(search_term), False

    change_form_template = "admin/members/order/change_form.html"

    change_list_template = "admin/members/order/change_list.html"
    export_header = ORDER_CSV_HEADER
    export_filename = "orders"

    def export_rows(self, queryset):
        return labelled(
            queryset.values_list(
                "number",
                "membership__user__email",
                "membership__user__full_name",
                "membership_type__name",
                "amount",
                "currency",
                "band",
                "status",
                "provider",
                "created_at",
                "paid_at",
            ).iterator(chunk_size=2000),
            {6: IncomeBand.choices, 7: OrderStatus.choices, 8: PaymentProvider.choices},
        )

    def get_urls(self):
        record = self.admin_site.admin_view(self.record_payment_view)
        create = self.admin_site.admin_view(self.office_order_view)
        return [
            path("<int:pk>/payment/", record, name="members_order_payment"),
            *self.refund_urls(),
            path("new/", create, name="members_order_new"),
            *super().get_urls(),
        ]

    def office_order_view(self, request):
        """An order taken by phone or at the meeting desk, for a member or someone new."""
        if not self.has_change_permission(request):
            return redirect("admin:members_order_changelist")
        form = OfficeOrderForm(request.POST or None)
        if form.is_valid():
            try:
                order = office_order_create(by=request.user, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(request, _("Order %(number)s created.") % {"number": order.number})
                return redirect("admin:members_order_change", order.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Create an order for a member"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/members/order/office_order.html", context)

    def record_payment_view(self, request, pk):
        """Record money received for one order: part or all of it, on the day it arrived."""
        order = get_object_or_404(Order.objects.select_related("membership__user"), pk=pk)
        if not self.has_change_permission(request, order):
            return redirect("admin:members_order_change", pk)
        received = order.payments.total()
        form = PaymentForm(request.POST or None, initial={"amount": max(order.amount - received, 0) or None})
        if form.is_valid():
            try:
                payment = payment_record(order=order, by=request.user, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(request, _("Payment recorded."))
                if payment.review:
                    self.message_user(request, payment.get_review_display(), messages.WARNING)
                return redirect("admin:members_order_change", order.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Record a payment for order %(number)s") % {"number": order.number},
            "order": order,
            "received": received,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/members/order/record_payment.html", context)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # orders are the society's financial record

    @admin.display(description=_("member"), ordering="membership__user__full_name")
    def member(self, order):
        return order.membership.user

    @admin.action(description=_("Mark selected invoices paid (creates the term)…"))
    def mark_paid(self, request, queryset):
        return invoices_mark_paid(self, request, queryset, queryset, action="mark_paid")

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
        """Record full refunds (money returned outside the portal or in Stripe's dashboard): credit notes are
        issued and the terms voided. Refunding through Stripe, or in part, is on each order's Refund page."""
        form = RefundForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            done = apply_to_each(
                self,
                request,
                queryset,
                lambda order: refund_record_in_full(order=order, reason=reason, by=request.user),
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


class NeedsReviewFilter(admin.SimpleListFilter):
    title = _("review")
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("open", _("Needs review"))]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.needing_review()
        return queryset


@admin.register(Payment)
class PaymentAdmin(LargeTableAdminMixin, BackgroundExportMixin, HistoryAdmin):
    """Money received, as the accountant reads it. Payments are recorded from their order's page."""

    list_display = ["received_on", "order", "member", "amount", "currency", "method", "reference", "review"]
    # No currency filter: its choices were a DISTINCT over every payment per view; orders are in DUES_CURRENCY.
    list_filter = [NeedsReviewFilter, "method"]
    search_fields = ["order__number", "order__membership__user__email", "order__membership__user__full_name"]
    list_select_related = ["order__membership__user"]
    date_hierarchy = "received_on"
    readonly_fields = [field.name for field in Payment._meta.fields]
    actions = ["mark_reviewed"]
    change_list_template = "admin/members/payment/change_list.html"
    export_header = PAYMENT_CSV_HEADER
    export_filename = "payments"

    def export_rows(self, queryset):
        return labelled(
            queryset.values_list(
                "received_on",
                "order__number",
                "order__membership__user__email",
                "amount",
                "currency",
                "method",
                "reference",
                "review",
            ).iterator(chunk_size=2000),
            {5: PaymentMethod.choices, 7: PaymentReview.choices},
        )

    def get_search_results(self, request, queryset, search_term):
        # The orders' staff search through its indexes; Django's own (OR across 3 tables) read every payment.
        orders = Order.objects.searched_by_staff(search_term).values("pk")
        return (queryset.filter(order__in=orders) if search_term.strip() else queryset), False

    def get_urls(self):
        accounting = self.admin_site.admin_view(self.accounting_view)
        return [path("accounting/", accounting, name="members_payment_accounting"), *super().get_urls()]

    def accounting_view(self, request):
        """Orders, payments, refunds and totals of a period, with labels, for the accountant."""
        if not self.has_view_permission(request):
            return redirect("admin:index")
        form = AccountingExportForm(request.GET or None)
        if form.is_valid():
            start, end, table = (form.cleaned_data[name] for name in ("start", "end", "table"))
            tables = accounting_tables(start=start, end=end)
            name = f"accounting-{start:%Y-%m-%d}-{end:%Y-%m-%d}"
            if table == "xlsx":
                return xlsx_response(filename=f"{name}.xlsx", sheets=tables)
            headers, rows = tables[table]
            return csv_response(filename=f"{name}-{table}.csv", header=headers, rows=rows)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Accounting export"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/members/payment/accounting.html", context)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("member"), ordering="order__membership__user__full_name")
    def member(self, payment):
        return payment.order.membership.user

    @admin.action(description=_("Mark selected payments reviewed"))
    def mark_reviewed(self, request, queryset):
        count = 0
        for payment in queryset.exclude(review=PaymentReview.NONE):
            payment_mark_reviewed(payment=payment, by=request.user)
            count += 1
        self.message_user(request, ngettext("%d payment reviewed.", "%d payments reviewed.", count) % count)
