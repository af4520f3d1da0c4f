"""Staff pages for memberships (changelist, CSV export, dashboard), types, prices and country bands.
Actions call the same services as members."""

import datetime

from django.conf import settings
from django.contrib import admin
from django.db.models import CharField, OuterRef, Subquery
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_countries import countries

from members.admin.accounts import MemberSummaryMixin
from members.admin.base import RecordInline, action_form_page, apply_to_each
from members.admin.imports import import_progress, import_upload
from members.admin.payments import OrderInline, invoices_mark_paid
from members.admin.reminders import ReminderDeliveryInline
from members.admin.retention import AtRiskFilter, JoinedFilter, retention_csv, retention_view
from members.forms.memberships import CompForm, ReasonForm
from members.models import (
    CountryBand,
    IncomeBand,
    Membership,
    MembershipStatus,
    MembershipType,
    Order,
    Price,
    Term,
    User,
)
from members.models.memberships import society_today
from members.selectors import MEMBERSHIP_CSV_HEADER as CSV_HEADER
from members.selectors import (
    dashboard_figures_cached,
    member_countries,
    membership_export_rows,
)
from members.selectors.staff_search import memberships_searched_by_staff
from members.services.memberships import membership_cancel
from members.services.payments import term_comp
from society.admin.base import HistoryAdmin, LabelledInlineFormSet, LabelledListEditableMixin, LargeTableAdminMixin
from society.admin.exports import BackgroundExportMixin
from society.exports import csv_response
from society.health import REMINDER_JOB
from society.services.jobs import heartbeat_status


def membership_admin_queryset():
    """Everything a changelist row shows, as annotations: a fixed number of queries for any page size."""
    band = CountryBand.objects.filter(country=OuterRef("user__country")).values("band")[:1]
    last_type = (
        Term.objects.counting().filter(membership=OuterRef("pk")).order_by("-end").values("membership_type__name")[:1]
    )
    last_order = Order.objects.filter(membership=OuterRef("pk")).order_by("-created_at").values("number")[:1]
    return (
        Membership.objects.with_status(society_today())
        .select_related("user")
        .annotate(
            band=Subquery(band, output_field=CharField()),
            type_name=Subquery(last_type, output_field=CharField()),
            last_order=Subquery(last_order, output_field=CharField()),
        )
    )


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return MembershipStatus.choices

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        if self.value() not in MembershipStatus.values:
            return queryset.none()  # as the CASE it replaces answered an unknown status: nothing matches
        return queryset.in_status(self.value())


class TypeFilter(admin.SimpleListFilter):
    title = _("type (current term)")
    parameter_name = "type"

    def lookups(self, request, model_admin):
        types = list(MembershipType.objects.all())
        # The filter's query names the type by its id: Postgres then knows from its statistics how common
        # the type is (a slug looked up inside the query would be a guess), with no query of its own.
        self.type_ids = {t.slug: t.pk for t in types}
        return [(t.slug, t.name) for t in types]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        if self.value() not in self.type_ids:
            return queryset.none()
        return queryset.of_current_type(self.type_ids[self.value()])


class BandFilter(admin.SimpleListFilter):
    title = _("income band")
    parameter_name = "band"

    def lookups(self, request, model_admin):
        return IncomeBand.choices

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        # On the members' country (indexed), not on the `band` annotation, which is a subquery per row. The
        # band's countries as a list (one small query): Postgres then knows from the country statistics how many
        # members that is; behind a subquery it guessed, and planned parallel workers for a 0.4 ms page.
        countries_in_band = list(CountryBand.objects.filter(band=self.value()).values_list("country", flat=True))
        return queryset.filter(user__country__in=countries_in_band)


# Below this many, the ids of a filter's members are fetched first (about where reading them costs what a
# walk along the memberships to a page of 50 costs, at 500,000 memberships).
FEW_MEMBERS = 3000


class CountryFilter(admin.SimpleListFilter):
    title = _("country")
    parameter_name = "country"

    def lookups(self, request, model_admin):
        return sorted(((code, countries.name(code)) for code in member_countries()), key=lambda item: item[1])

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        # A country with few members (Iceland's 1,200 of 500,000): walking the memberships newest first, as
        # Postgres prefers, reads 20,000 of them for a page of 50. Their ids, read from the country's index,
        # are looked up directly instead (and Postgres then counts them right). A common one walks little.
        ids = list(User.objects.filter(country=self.value()).values_list("pk", flat=True)[:FEW_MEMBERS])
        if len(ids) < FEW_MEMBERS:
            return queryset.filter(user_id__in=ids)
        return queryset.filter(user__country=self.value())


class EndsWithinFilter(admin.SimpleListFilter):
    title = _("ends within")
    parameter_name = "ends_within"

    def lookups(self, request, model_admin):
        return [("30", _("30 days")), ("60", _("60 days")), ("90", _("90 days"))]

    def queryset(self, request, queryset):
        if self.value() not in {"30", "60", "90"}:
            return queryset
        today = society_today()
        return queryset.filter(
            last_end__gte=today, last_end__lte=today + datetime.timedelta(days=int(self.value())), lifetime=False
        )


class TermInline(RecordInline):
    model = Term
    fields = ["start", "end", "membership_type", "order", "created_at", "voided_at", "void_reason"]
    ordering = ["-end"]

    def get_queryset(self, request):
        # The row's own title (str(term)) names the member; type and order are columns.
        return super().get_queryset(request).select_related("membership__user", "membership_type", "order")


def membership_csv_response(queryset, filename="memberships.csv") -> StreamingHttpResponse:
    """Stream rows straight from a server-side cursor: 100,000 memberships never sit in memory at once."""
    return csv_response(header=CSV_HEADER, rows=membership_export_rows(queryset.order_by("pk")), filename=filename)


@admin.register(Membership)
class MembershipAdmin(LargeTableAdminMixin, MemberSummaryMixin, BackgroundExportMixin, HistoryAdmin):
    list_display = [
        "member",
        "country",
        "band_display",
        "type_display",
        "status_badge",
        "end_date",
        "last_order_link",
    ]
    list_filter = [StatusFilter, TypeFilter, BandFilter, CountryFilter, EndsWithinFilter, AtRiskFilter, JoinedFilter]
    search_fields = ["user__full_name", "user__email", "user__orcid", "orders__number"]
    list_per_page = 50
    inlines = [TermInline, OrderInline, ReminderDeliveryInline]
    readonly_fields = ["member_summary", "user", "created_at", "cancelled_at", "cancel_reason"]
    # The person, their membership and their latest emails on top; terms, orders and reminders below as
    # inlines: the one page staff need to answer a member's question.
    fieldsets = [
        (_("Member"), {"fields": ["member_summary"]}),
        (_("Membership record"), {"fields": ["user", "created_at", "cancelled_at", "cancel_reason"]}),
    ]
    actions = ["mark_invoice_paid", "comp_term", "cancel_memberships", "export_csv"]
    change_list_template = "admin/members/membership/change_list.html"
    export_header = CSV_HEADER
    export_filename = "memberships"

    class Media:
        css = {"all": ["css/admin-dashboard.css"]}

    def get_queryset(self, request):
        return membership_admin_queryset()

    def get_search_results(self, request, queryset, search_term):
        # The same fields as search_fields (which keeps the search box), read through their trigram indexes.
        return memberships_searched_by_staff(queryset, search_term), False

    def has_add_permission(self, request):
        return False  # a membership starts with an order, a comp or an import

    def has_delete_permission(self, request, obj=None):
        return False  # memberships are history

    @admin.display(description=_("member"), ordering="user__full_name")
    def member(self, membership):
        # The email under the name, not in a column of its own: at 1280 px every column then fits unwrapped.
        user = membership.user
        return format_html('{}<br><span class="member-email">{}</span>', user.full_name, user.email)

    @admin.display(description=_("country"), ordering="user__country")
    def country(self, membership):
        return membership.user.country.name

    @admin.display(description=_("band"), ordering="band")
    def band_display(self, membership):
        return IncomeBand(membership.band).label if membership.band else "–"

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, membership):
        status = MembershipStatus(membership.status)
        return format_html('<span class="badge badge--{}">{}</span>', status.value, status.label)

    @admin.display(description=_("type"), ordering="type_name")
    def type_display(self, membership):
        return membership.type_name or "–"

    @admin.display(description=_("last order"), ordering="last_order")
    def last_order_link(self, membership):
        if not membership.last_order:
            return "–"
        url = reverse("admin:members_order_changelist") + f"?q={membership.last_order}"
        return format_html('<a href="{}">{}</a>', url, membership.last_order)

    @admin.display(description=_("ends"), ordering="last_end")
    def end_date(self, membership):
        return _("Lifetime") if membership.lifetime else membership.last_end

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("dashboard/", view(self.dashboard_view), name="members_membership_dashboard"),
            path("retention/", view(retention_view), name="members_membership_retention"),
            path("retention/<str:panel>.csv", view(retention_csv), name="members_membership_retention_csv"),
            path("import/", view(import_upload), name="members_membership_import"),
            path("import/<int:pk>/", view(import_progress), name="members_membership_import_progress"),
            *super().get_urls(),
        ]

    def dashboard_view(self, request):
        """The figures come from the cache (ten minutes); POST, the refresh button, computes them again."""
        figures, computed_at = dashboard_figures_cached(today=society_today(), refresh=request.method == "POST")
        if request.method == "POST":
            return redirect("admin:members_membership_dashboard")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Membership dashboard"),
            "reminder_job": heartbeat_status(name=REMINDER_JOB),
            "computed_at": computed_at,
            **figures,
        }
        return render(request, "admin/members/dashboard.html", context)

    def export_rows(self, queryset):
        return membership_export_rows(queryset)

    @admin.action(description=_("Export selected memberships as CSV"))
    def export_csv(self, request, queryset):
        # "Select all N" hands the action the whole filtered list, which can be far too large for one request.
        if request.POST.get("select_across") == "1":
            count = queryset.count()
            if count >= settings.EXPORT_STREAM_MAX_ROWS:
                return self.export_in_background(request, count=count)
        return membership_csv_response(queryset)

    @admin.action(description=_("Mark pending invoices of selected memberships paid…"))
    def mark_invoice_paid(self, request, queryset):
        orders = Order.objects.filter(membership__in=queryset.values("pk"))
        return invoices_mark_paid(self, request, queryset, orders, action="mark_invoice_paid")

    @admin.action(description=_("Grant a term without payment (comp)…"))
    def comp_term(self, request, queryset):
        form = CompForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            for membership in queryset:
                term_comp(
                    membership=membership,
                    membership_type=form.cleaned_data["membership_type"],
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                )
            self.message_user(request, _("Granted %(count)d term(s).") % {"count": queryset.count()})
            return None
        return self._reason_page(request, queryset, form, "comp_term", _("Grant a term without payment"))

    @admin.action(description=_("Cancel selected memberships…"))
    def cancel_memberships(self, request, queryset):
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            done = apply_to_each(
                self,
                request,
                queryset,
                lambda membership: membership_cancel(membership=membership, reason=reason, by=request.user),
            )
            self.message_user(
                request,
                ngettext("Cancelled %(count)d membership.", "Cancelled %(count)d memberships.", done) % {"count": done},
            )
            return None
        return self._reason_page(request, queryset, form, "cancel_memberships", _("Cancel memberships"))

    def _reason_page(self, request, queryset, form, action, title):
        return action_form_page(
            self,
            request,
            template="admin/members/membership/action_reason.html",
            title=title,
            form=form,
            action=action,
            memberships=queryset.select_related("user"),
        )


class PriceInline(admin.TabularInline):
    """One row per band and term length (1, 2 or 3 years); a type is offered in the lengths it has rows for."""

    model = Price
    fields = ["band", "years", "amount"]
    extra = 0
    formset = LabelledInlineFormSet

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("membership_type")  # str(price) names the type


@admin.register(MembershipType)
class MembershipTypeAdmin(LabelledListEditableMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "term_months",
        "is_lifetime",
        "is_purchasable",
        "requires_approval",
        "is_active",
        "display_order",
    ]
    list_editable = ["display_order"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [PriceInline]


@admin.register(Price)
class PriceAdmin(LabelledListEditableMixin, HistoryAdmin):
    list_display = ["membership_type", "band", "years", "amount"]
    list_editable = ["amount"]
    list_filter = ["band", "years", "membership_type"]
    list_select_related = ["membership_type"]


@admin.register(CountryBand)
class CountryBandAdmin(LabelledListEditableMixin, HistoryAdmin):
    """Reassigning a country keeps the old band and the date in its history (the History button)."""

    list_display = ["country", "country_code", "band", "updated_at"]
    list_editable = ["band"]
    list_filter = ["band"]
    search_fields = ["country"]
    readonly_fields = ["updated_at"]
    list_per_page = 300

    @admin.display(description=_("code"))
    def country_code(self, country_band):
        return country_band.country.code
