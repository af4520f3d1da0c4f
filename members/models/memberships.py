"""Membership types, dues by country income band, memberships and their terms (orders are in payments.py).

Dates are calendar dates in the society's TIME_ZONE; a term is valid through the end of its end date there.
Money is Decimal, never float.
"""

import datetime
from decimal import Decimal

import pgtrigger
from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateRangeField, RangeBoundary, RangeOperators
from django.db import models
from django.db.models import Case, Exists, F, Func, OuterRef, Q, Value, When, lookups
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from .directory import MEMBERSHIP_TOUCHES_USER


class IncomeBand(models.TextChoices):
    """The World Bank's income groups, which set the dues of a member's country."""

    HIGH = "high", _("High income")
    UPPER_MIDDLE = "upper_middle", _("Upper-middle income")
    LOWER_MIDDLE = "lower_middle", _("Lower-middle income")
    LOW = "low", _("Low income")


class MembershipStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACTIVE = "active", _("Active")
    EXPIRING = "expiring", _("Expiring soon")
    GRACE = "grace", _("In grace period")
    LAPSED = "lapsed", _("Lapsed")
    CANCELLED = "cancelled", _("Cancelled")


class MembershipSource(models.TextChoices):
    """How a membership came to the portal, for the office's "new members by source" figures."""

    ONLINE = "online", _("Joined online")
    OFFICE = "office", _("Created by the office")
    IMPORT = "import", _("Imported")


# Statuses that open member-only pages (directory, members-only news).
ACCESS_STATUSES = frozenset({MembershipStatus.ACTIVE, MembershipStatus.EXPIRING, MembershipStatus.GRACE})
# Statuses in which a member who has had a term may renew: from RENEWAL_WINDOW_DAYS before the end, on.
RENEWABLE_STATUSES = frozenset({MembershipStatus.EXPIRING, MembershipStatus.GRACE, MembershipStatus.LAPSED})
# Term lengths a type may be sold in, each with its own price per band.
TERM_YEARS = (1, 2, 3)


def society_today() -> datetime.date:
    """Today's date in the society's TIME_ZONE: the calendar every term is counted in."""
    return timezone.localdate()


def membership_status(
    *,
    today: datetime.date,
    last_end: datetime.date | None,
    cancelled: bool = False,
    window_days: int | None = None,
    grace_days: int | None = None,
    lifetime: bool = False,
) -> MembershipStatus:
    """The one definition of a membership's status, derived from dates. `with_status()` mirrors it in SQL.
    A lifetime term never ends, so its membership stays active whatever its earlier terms' dates."""
    window_days = settings.RENEWAL_WINDOW_DAYS if window_days is None else window_days
    grace_days = settings.GRACE_DAYS if grace_days is None else grace_days
    if cancelled:
        return MembershipStatus.CANCELLED
    if lifetime:
        return MembershipStatus.ACTIVE
    if last_end is None:
        return MembershipStatus.PENDING
    if today <= last_end:
        if (last_end - today).days <= window_days:
            return MembershipStatus.EXPIRING
        return MembershipStatus.ACTIVE
    if (today - last_end).days <= grace_days:
        return MembershipStatus.GRACE
    return MembershipStatus.LAPSED


class MembershipTypeQuerySet(models.QuerySet):
    def purchasable(self):
        return self.filter(is_active=True, is_purchasable=True)


class MembershipType(models.Model):
    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), unique=True)
    description = models.TextField(_("description"), blank=True)
    eligibility = models.TextField(_("eligibility"), blank=True)
    term_months = models.PositiveSmallIntegerField(_("term length in months"), default=12)
    requires_approval = models.BooleanField(
        _("staff must approve"), default=False, help_text=_("For example students, who describe their proof of status.")
    )
    is_lifetime = models.BooleanField(
        _("lifetime"),
        default=False,
        help_text=_("Its term never ends: no reminders, no renewal. The price is a one-off (the 1-year row)."),
    )
    is_purchasable = models.BooleanField(
        _("members can buy it"), default=True, help_text=_("Off for types only staff grant, such as Honorary.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    display_order = models.PositiveSmallIntegerField(_("display order"), default=0)

    objects = MembershipTypeQuerySet.as_manager()

    class Meta:
        ordering = ["display_order", "name"]
        verbose_name = _("membership type")
        verbose_name_plural = _("membership types")
        constraints = [models.CheckConstraint(condition=Q(term_months__gte=1), name="membershiptype_term_positive")]

    def __str__(self):
        return self.name


class CountryBand(models.Model):
    """Which income band each ISO 3166-1 country is in. Changes are kept in history with their dates."""

    country = CountryField(_("country"), unique=True)
    band = models.CharField(_("income band"), max_length=20, choices=IncomeBand.choices)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["country"]
        verbose_name = _("country income band")
        verbose_name_plural = _("country income bands")

    def __str__(self):
        return f"{self.country.name}: {self.get_band_display()}"


class Price(models.Model):
    """One price per (membership type, income band, term length in years), in settings.DUES_CURRENCY.
    A type is offered in the lengths it has prices for; every existing price is a 1-year price."""

    membership_type = models.ForeignKey(
        MembershipType, verbose_name=_("membership type"), on_delete=models.PROTECT, related_name="prices"
    )
    band = models.CharField(_("income band"), max_length=20, choices=IncomeBand.choices)
    years = models.PositiveSmallIntegerField(
        _("term in years"), default=1, choices=[(years, str(years)) for years in TERM_YEARS]
    )
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)

    history = HistoricalRecords()

    class Meta:
        ordering = ["membership_type__display_order", "band", "years"]
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        constraints = [
            models.UniqueConstraint(fields=["membership_type", "band", "years"], name="price_unique_type_band_years"),
            models.CheckConstraint(condition=Q(years__gte=1, years__lte=max(TERM_YEARS)), name="price_years_offered"),
            models.CheckConstraint(condition=Q(amount__gte=Decimal("0")), name="price_amount_not_negative"),
        ]

    def __str__(self):
        return f"{self.membership_type} / {self.get_band_display()} / {self.years}: {self.amount}"


class MembershipQuerySet(models.QuerySet):
    def with_last_end(self):
        # current_end is kept equal to the latest term's end by a trigger on Term, so filtering and
        # counting by status over 100,000 memberships reads one indexed column, not a subquery per row.
        return self.annotate(last_end=F("current_end"))

    def with_status(self, today: datetime.date | None = None):
        """Annotate `last_end` and `status` in SQL, mirroring membership_status() exactly."""
        today = today or society_today()
        window_start = today + datetime.timedelta(days=settings.RENEWAL_WINDOW_DAYS)
        grace_floor = today - datetime.timedelta(days=settings.GRACE_DAYS)
        return self.with_last_end().annotate(
            status=Case(
                When(cancelled_at__isnull=False, then=Value(MembershipStatus.CANCELLED.value)),
                When(lifetime=True, then=Value(MembershipStatus.ACTIVE.value)),
                When(last_end__isnull=True, then=Value(MembershipStatus.PENDING.value)),
                When(last_end__gte=today, last_end__lte=window_start, then=Value(MembershipStatus.EXPIRING.value)),
                When(last_end__gt=window_start, then=Value(MembershipStatus.ACTIVE.value)),
                When(last_end__gte=grace_floor, then=Value(MembershipStatus.GRACE.value)),
                default=Value(MembershipStatus.LAPSED.value),
                output_field=models.CharField(),
            )
        )

    def in_status(self, status: str, today: datetime.date | None = None):
        """Memberships whose `with_status()` status is `status`, filtered on the columns (each status is a range
        of the indexed current_end, a cancelled_at or the lifetime flag), not on the CASE, a scan of them all."""
        today = today or society_today()
        window_start = today + datetime.timedelta(days=settings.RENEWAL_WINDOW_DAYS)
        grace_floor = today - datetime.timedelta(days=settings.GRACE_DAYS)
        live = Q(cancelled_at__isnull=True)
        dated = live & Q(lifetime=False)
        conditions = {
            MembershipStatus.CANCELLED: Q(cancelled_at__isnull=False),
            MembershipStatus.ACTIVE: live & (Q(lifetime=True) | Q(current_end__gt=window_start)),
            MembershipStatus.PENDING: dated & Q(current_end__isnull=True),
            MembershipStatus.EXPIRING: dated & Q(current_end__gte=today, current_end__lte=window_start),
            MembershipStatus.GRACE: dated & Q(current_end__gte=grace_floor, current_end__lt=today),
            MembershipStatus.LAPSED: dated & Q(current_end__lt=grace_floor),
        }
        return self.filter(conditions[MembershipStatus(status)])

    def of_current_type(self, membership_type_id: int):
        """Memberships whose latest counting term (lifetime, else ending on current_end) is of this type: one
        EXISTS over the terms alone (joining the membership or type inside made Postgres hash them all)."""
        latest = Q(end__isnull=True) | (Q(end=OuterRef("current_end")) & lookups.Exact(OuterRef("lifetime"), False))
        terms = Term.objects.counting().filter(latest, membership=OuterRef("pk"), membership_type=membership_type_id)
        return self.filter(Exists(terms))

    def with_access(self, today: datetime.date | None = None):
        """Memberships whose status is in ACCESS_STATUSES (active, expiring, grace), with `status` annotated.

        Filtered on the columns, not on the CASE: active, expiring and grace together are exactly "not
        cancelled and the last term ended no earlier than the grace floor". Postgres estimates that range
        from the column statistics and can use the current_end index; on the CASE it guessed 4 % of the rows
        (10,000 nested-loop probes at 10,000 members). User.membership_end is the same test on the users table."""
        today = today or society_today()
        grace_floor = today - datetime.timedelta(days=settings.GRACE_DAYS)
        return self.with_status(today).filter(
            Q(current_end__gte=grace_floor) | Q(lifetime=True), cancelled_at__isnull=True
        )


class Membership(models.Model):
    """One per member. Its terms are its history; nothing here is rewritten by a renewal."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("member"), on_delete=models.PROTECT, related_name="membership"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancel_reason = models.TextField(_("reason for cancellation"), blank=True)
    # Derived: the end of the latest term, maintained by the database (trigger term_sets_current_end).
    current_end = models.DateField(_("current term ends"), null=True, blank=True, editable=False, db_index=True)
    # Derived the same way: a counting term without an end (a lifetime membership) exists.
    lifetime = models.BooleanField(_("lifetime"), default=False, editable=False)
    source = models.CharField(
        _("source"), max_length=10, choices=MembershipSource.choices, default=MembershipSource.ONLINE, editable=False
    )

    history = HistoricalRecords(excluded_fields=["current_end", "lifetime"])

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        triggers = [
            # Whatever an UPDATE writes (a stale instance's save(), a bulk update), current_end comes
            # from the terms, so the derived column can never be overwritten with a wrong value.
            pgtrigger.Trigger(
                name="membership_current_end_from_terms",
                when=pgtrigger.Before,
                operation=pgtrigger.Update,
                func="""
                    NEW.current_end := (
                        SELECT MAX("end") FROM members_term WHERE membership_id = NEW.id AND voided_at IS NULL
                    );
                    NEW.lifetime := EXISTS (
                        SELECT 1 FROM members_term
                        WHERE membership_id = NEW.id AND voided_at IS NULL AND "end" IS NULL
                    );
                    RETURN NEW;
                """,
            ),
            MEMBERSHIP_TOUCHES_USER,  # keeps User.membership_end (models/directory.py)
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(cancelled_at__isnull=True) | ~Q(cancel_reason=""), name="membership_cancel_has_reason"
            )
        ]
        # The few cancelled memberships, found without reading the rest (the changelist's status filter).
        indexes = [
            models.Index(fields=["cancelled_at"], condition=Q(cancelled_at__isnull=False), name="membership_cancelled")
        ]

    def __str__(self):
        return str(self.user)

    def current_term(self):
        """The latest term that counts. A term voided by a refund stays in the history but is never current.

        Reads `terms.all()`, so a page that prefetched the terms asks no further query."""
        return max(
            (term for term in self.terms.all() if term.voided_at is None),
            key=lambda term: term.end or datetime.date.max,
            default=None,
        )


class DateRange(Func):
    """Postgres `daterange(start, end, bounds)`, for constraints over a span of days."""

    function = "DATERANGE"
    output_field = DateRangeField()


class TermQuerySet(models.QuerySet):
    def counting(self):
        """Terms that count: a term voided by a refund stays as history but gives no membership."""
        return self.filter(voided_at__isnull=True)


class Term(models.Model):
    """A paid period of membership, from `start` through the end of `end` (inclusive) in the society's TIME_ZONE."""

    membership = models.ForeignKey(
        Membership, verbose_name=_("membership"), on_delete=models.PROTECT, related_name="terms"
    )
    membership_type = models.ForeignKey(
        MembershipType, verbose_name=_("membership type"), on_delete=models.PROTECT, related_name="terms"
    )
    start = models.DateField(_("start"))
    # No end: a lifetime term. Its range is [start, infinity), so the exclusion constraint below still
    # forbids any other counting term after its start.
    end = models.DateField(_("end (inclusive)"), null=True, blank=True)
    # One order pays for exactly one term: a replayed payment notification cannot add a second.
    order = models.OneToOneField(
        "members.Order",
        verbose_name=pgettext_lazy("purchase", "order"),
        on_delete=models.PROTECT,
        related_name="term",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # A refund voids the term it paid for; the row stays, so history is never rewritten.
    voided_at = models.DateTimeField(_("voided"), null=True, blank=True)
    void_reason = models.TextField(_("reason for voiding"), blank=True)

    objects = TermQuerySet.as_manager()

    class Meta:
        ordering = ["membership", "start"]
        verbose_name = _("term")
        verbose_name_plural = _("terms")
        constraints = [
            models.CheckConstraint(condition=Q(end__gte=F("start")), name="term_end_not_before_start"),
            models.CheckConstraint(
                condition=Q(voided_at__isnull=True) | ~Q(void_reason=""), name="term_void_has_reason"
            ),
            # Two terms that count can never cover the same day of one membership, whichever path writes
            # them (services, imports, admin, raw SQL). `end` is inclusive, hence "[]": Postgres stores
            # it as [start, end + 1), so a term ending 31 December and the next starting 1 January touch
            # without overlapping. A voided (refunded) term is history and may lie under its replacement.
            ExclusionConstraint(
                name="term_counting_terms_never_overlap",
                expressions=[
                    ("membership", RangeOperators.EQUAL),
                    (DateRange("start", "end", RangeBoundary(inclusive_upper=True)), RangeOperators.OVERLAPS),
                ],
                condition=Q(voided_at__isnull=True),
            ),
        ]
        indexes = [
            models.Index(fields=["membership", "-end"], name="term_membership_end"),
            models.Index(fields=["start"], condition=Q(voided_at__isnull=True), name="term_counting_start"),  # joined
        ]
        triggers = [
            # In the database, so terms written by any path (services, imports, admin, raw SQL) keep
            # Membership.current_end right.
            pgtrigger.Trigger(
                name="term_sets_current_end",
                when=pgtrigger.After,
                operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
                # Touching the membership row runs membership_current_end_from_terms, which recomputes it.
                func="""
                    IF TG_OP IN ('UPDATE', 'DELETE') THEN
                        UPDATE members_membership SET current_end = NULL WHERE id = OLD.membership_id;
                    END IF;
                    IF TG_OP IN ('INSERT', 'UPDATE') THEN
                        UPDATE members_membership SET current_end = NULL WHERE id = NEW.membership_id;
                    END IF;
                    RETURN NULL;
                """,
            )
        ]

    def __str__(self):
        return f"{self.membership}: {self.start} – {self.end or '∞'}"

    @property
    def is_lifetime(self) -> bool:
        return self.end is None
