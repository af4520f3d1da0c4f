"""Reads that span models: who may see member-only pages, the accountant's tables of a date range and the
membership export (the staff dashboard's figures are in dashboard.py, the Retention page's in retention.py)."""

import datetime
import functools
import itertools
from decimal import Decimal

from django.db import connection
from django.db.models import BooleanField, Count, Exists, OuterRef, Sum
from django.db.models.expressions import RawSQL
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from members.models import (
    CountryBand,
    IncomeBand,
    Membership,
    MembershipStatus,
    Order,
    OrderStatus,
    Payment,
    PaymentMethod,
    PaymentProvider,
    PaymentReview,
    Refund,
    Term,
)
from members.models.memberships import ACCESS_STATUSES, membership_status, society_today
from members.selectors.dashboard import CHART_COUNTRIES, dashboard_figures, dashboard_figures_cached  # noqa: F401


def membership_status_for_user(user) -> MembershipStatus | None:
    """The user's derived membership status, or None for a visitor or an account with no membership."""
    if not getattr(user, "is_authenticated", False):
        return None
    # Three columns and membership_status(), not with_status()'s CASE, whose building cost more than the query.
    found = Membership.objects.filter(user=user).values_list("cancelled_at", "lifetime", "current_end").first()
    if found is None:
        return None
    cancelled_at, lifetime, current_end = found
    return membership_status(
        today=society_today(), last_end=current_end, cancelled=cancelled_at is not None, lifetime=lifetime
    )


def has_member_access(user) -> bool:
    """Active, expiring and grace members see member-only pages; pending, lapsed and cancelled do not."""
    return membership_status_for_user(user) in ACCESS_STATUSES


def member_countries() -> list[str]:
    """The countries of members' accounts, without reading every membership: a loose index scan that jumps
    from one country to the next in the user_country index (about 250 index probes, not 500,000 rows)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE found(country) AS (
                (SELECT u.country FROM members_user u WHERE u.country > '' AND EXISTS (
                    SELECT 1 FROM members_membership m WHERE m.user_id = u.id) ORDER BY u.country LIMIT 1)
                UNION ALL
                SELECT (SELECT u.country FROM members_user u WHERE u.country > found.country AND EXISTS (
                    SELECT 1 FROM members_membership m WHERE m.user_id = u.id) ORDER BY u.country LIMIT 1)
                FROM found WHERE found.country IS NOT NULL
            )
            SELECT country FROM found WHERE country IS NOT NULL
            """
        )
        return [row[0] for row in cursor.fetchall()]


def _label(choices, value) -> str:
    return str(choices(value).label) if value in choices.values else value or ""


def _person(order: Order) -> list:
    user = order.membership.user
    return [
        order.number,
        user.full_name,
        user.email,
        countries.name(order.country) or str(order.country),
        order.membership_type.name,
        _label(IncomeBand, order.band),
    ]


PERSON_HEADERS = [
    pgettext_lazy("purchase", "order"),
    _("member"),
    _("email"),
    _("country"),
    _("membership type"),
    _("income band"),
]


def accounting_tables(*, start: datetime.date, end: datetime.date) -> dict[str, tuple[list, list[list]]]:
    """What an accountant asks for a period (dates inclusive): money received, refunds, orders issued, and
    totals by method, band and type. Labels, not codes; amounts as Decimal. Each table: (headers, rows)."""
    order_related = ["order__membership__user", "order__membership_type"]
    payments = Payment.objects.filter(received_on__range=(start, end)).select_related(*order_related)
    credit_notes = Refund.objects.filter(refunded_on__range=(start, end)).select_related(*order_related)
    # Orders refunded before refunds had credit notes (or recorded with the bulk action) have no Refund row.
    refunded_orders = Order.objects.filter(status=OrderStatus.REFUNDED, refunded_at__date__range=(start, end)).exclude(
        Exists(Refund.objects.filter(order=OuterRef("pk")))
    )
    orders = Order.objects.filter(created_at__date__range=(start, end))
    payment_rows = [
        [
            payment.received_on,
            *_person(payment.order),
            _label(PaymentMethod, payment.method),
            payment.reference,
            payment.amount,
            payment.currency,
            _label(PaymentReview, payment.review),
        ]
        for payment in payments.order_by("received_on", "pk")
    ]
    refund_rows = [
        [
            refund.refunded_on,
            refund.number,
            *_person(refund.order),
            _label(PaymentMethod, refund.method),
            refund.reference,
            refund.amount,
            refund.currency,
            refund.reason,
        ]
        for refund in credit_notes.order_by("refunded_on", "number")
    ]
    refund_rows += [
        [
            order.refunded_at.date(),
            "",
            *_person(order),
            _label(PaymentProvider, order.provider),
            "",
            order.amount,
            order.currency,
            order.refund_reason,
        ]
        for order in refunded_orders.select_related("membership__user", "membership_type").order_by("refunded_at", "pk")
    ]
    order_rows = [
        [
            order.created_at.date(),
            *_person(order),
            _label(PaymentProvider, order.provider),
            _label(OrderStatus, order.status),
            order.amount,
            order.currency,
            order.paid_at.date() if order.paid_at else "",
            order.price_reason,
        ]
        for order in orders.select_related("membership__user", "membership_type").order_by("created_at", "pk")
    ]
    totals = []
    for title, field, choices in [
        (_("Received by method"), "method", PaymentMethod),
        (_("Received by income band"), "order__band", IncomeBand),
        (_("Received by membership type"), "order__membership_type__name", None),
    ]:
        grouped = payments.order_by().values(field, "currency").annotate(count=Count("pk"), total=Sum("amount"))
        for row in grouped.order_by(field, "currency"):
            key = _label(choices, row[field]) if choices else row[field]
            totals.append([str(title), key, row["count"], row["total"], row["currency"]])
    # Refunds with a credit note by their own field; older refunded orders by the order's (`legacy_field`).
    for title, field, choices, legacy_field, legacy_choices in [
        (_("Refunded by method"), "method", PaymentMethod, "provider", PaymentProvider),
        (_("Refunded by income band"), "order__band", IncomeBand, "band", IncomeBand),
        (_("Refunded by membership type"), "order__membership_type__name", None, "membership_type__name", None),
    ]:
        summed = {}  # (label, currency) -> [count, total]: one line even when both kinds share a label
        for rows, key_field, key_choices in [
            (credit_notes, field, choices),
            (refunded_orders, legacy_field, legacy_choices),
        ]:
            grouped = rows.order_by().values(key_field, "currency").annotate(count=Count("pk"), total=Sum("amount"))
            for row in grouped:
                key = _label(key_choices, row[key_field]) if key_choices else row[key_field]
                line = summed.setdefault((key, row["currency"]), [0, Decimal("0")])
                line[0] += row["count"]
                line[1] += row["total"]
        for (key, currency), (count, total) in sorted(summed.items()):
            totals.append([str(title), key, count, total, currency])
    return {
        "payments": (
            [
                _("date received"),
                *PERSON_HEADERS,
                _("method"),
                _("reference"),
                _("amount"),
                _("currency"),
                _("to review"),
            ],
            payment_rows,
        ),
        "refunds": (
            [
                _("date refunded"),
                _("credit note"),
                *PERSON_HEADERS,
                _("method"),
                _("reference"),
                _("amount"),
                _("currency"),
                _("reason"),
            ],
            refund_rows,
        ),
        "orders": (
            [
                _("date created"),
                *PERSON_HEADERS,
                _("payment method"),
                _("status"),
                _("amount"),
                _("currency"),
                _("date paid"),
                _("reason for the price"),
            ],
            order_rows,
        ),
        "totals": ([_("total"), _("of"), _("count"), _("amount"), _("currency")], totals),
    }


MEMBERSHIP_CSV_HEADER = [
    "email",
    "full name",
    "country",
    "band",
    "type",
    "status",
    "term end date",
    "last order",
    "ORCID",
]


def membership_export_rows(queryset, chunk_size: int = 2000):
    """Labelled CSV rows of `queryset` (a changelist queryset, in its own order), read in chunks.

    The changelist's band, type and last-order columns are subqueries run once per row; over 500,000 rows
    they were most of an export's time. Here each chunk of rows gets its types and last orders in two
    queries, and the bands come from the country table read once: the same values, about three times faster.
    """
    rows = queryset.values_list(
        "pk", "user__email", "user__full_name", "user__country", "status", "last_end", "lifetime", "user__orcid"
    ).iterator(chunk_size=chunk_size)
    band_of = dict(CountryBand.objects.values_list("country", "band"))
    while chunk := list(itertools.islice(rows, chunk_size)):
        ids = [row[0] for row in chunk]
        type_of = dict(
            Term.objects.counting()
            .filter(_among(ids))
            .order_by("membership_id", "-end")
            .distinct("membership_id")
            .values_list("membership_id", "membership_type__name")
        )
        last_order_of = dict(
            Order.objects.filter(_among(ids))
            .order_by("membership_id", "-created_at")
            .distinct("membership_id")
            .values_list("membership_id", "number")
        )
        yield from _labelled(
            (
                email,
                name,
                country,
                band_of.get(country),
                type_of.get(pk),
                status,
                end,
                lifetime,
                last_order_of.get(pk),
                orcid,
            )
            for pk, email, name, country, status, end, lifetime, orcid in chunk
        )


def _among(ids: list[int]) -> RawSQL:
    """membership_id = ANY(array): one parameter, where `__in` prepares 2,000 values one by one in Python."""
    return RawSQL("membership_id = ANY(%s)", (ids,), output_field=BooleanField())


@functools.cache
def _country_name(code: str, language: str) -> str:
    return countries.name(code) or code


def _labelled(rows):
    """Staff and accountants read names, not codes: "Kenya", "Lower-middle income", "Expiring"."""
    # Labels are lazy: translated once here, not once per cell (that was a third of a large export's time).
    bands = {value: str(label) for value, label in IncomeBand.choices}
    statuses = {value: str(label) for value, label in MembershipStatus.choices}
    lifetime_label = str(_("Lifetime"))
    language = get_language()
    for email, name, country, band, type_name, status, last_end, lifetime, last_order, orcid in rows:
        yield [
            email,
            name,
            _country_name(country, language),
            bands.get(band, band or ""),
            type_name,
            statuses.get(status, status),
            lifetime_label if lifetime else last_end,
            last_order,
            orcid,
        ]
