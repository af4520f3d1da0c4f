"""What the retention figures ask of each term, written down once by the database instead of worked out from
every term on every computation (seconds at 500,000 members, twenty for a filtered Retention page).

- TermFact: one narrow row per counting term (its next term's start, whether it is the member's first, the
  join date, the member's country, ...), for figures over a chosen country or join year and the at-risk count.
- RenewalCount, CohortCount: the same facts counted by month and by the keys the filters and breakdowns use
  (type, country, ...), so the unfiltered page sums a few thousand counts instead of reading a million rows.
  DuesCount: paid orders' amounts by day, currency, band and type, for the dashboard's dues.
  Each is a ledger of signed changes: a trigger adds a row per change (no row is updated, so concurrent
  renewals never wait on one counter row), and compaction (term_facts_compact) sums them again.

Triggers (below) rewrite a membership's facts, and add the changed counts, whenever anything they depend on
is written, by any path: services, imports, admin, raw SQL. Both the triggers and the rebuild read one view,
members_termfact_source (migration 0019), so they can never disagree. Writes with triggers switched off (the
bench populations' bulk loads, session_replication_role = replica) must call term_facts_rebuild() after.
"""

import pgtrigger
from django.db import models
from django.db.models import Q

from .accounts import User
from .memberships import Membership, MembershipType, Term
from .payments import Order

# Cohort anniversaries a fact records (bit n of `anniversaries`): the Retention page shows 1, 2, 3 and 5.
MAX_ANNIVERSARY = 30
# RenewalCount keeps the days between a term's end and the next term's start up to this many, and "later" as
# MAX_GAP: enough to tell a renewal within any grace period shorter than that (GRACE_DAYS is 30).
MAX_GAP = 61


class TermFact(models.Model):
    """What the retention figures need to know about one counting term (voided terms have none)."""

    # Derived rows, written only by the triggers: no foreign-key constraints (their checks would lock the
    # membership, which a payment holds, from a sign-in's trigger), and no cascade (the trigger removes a deleted
    # term's fact and takes it off the counts).
    term = models.OneToOneField(
        Term, on_delete=models.DO_NOTHING, primary_key=True, related_name="+", db_constraint=False
    )
    membership = models.ForeignKey(
        Membership, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    membership_type = models.ForeignKey(
        MembershipType, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    start = models.DateField()
    end = models.DateField(null=True)  # no end: a lifetime term
    # The start of the membership's next counting term: renewed within the grace period when it is at most
    # end + GRACE_DAYS (compared when read, so a change of GRACE_DAYS needs no rebuild). None: the latest term.
    next_start = models.DateField(null=True)
    first = models.BooleanField()  # the membership's first counting term
    joined = models.DateField()  # the start of the membership's first counting term
    # Copied from the member's account and membership (kept by the triggers on those tables below).
    country = models.CharField(max_length=2)
    source = models.CharField(max_length=10)
    # Bit n set: a counting term of the membership covers the n-th anniversary of joining (n <= 30).
    anniversaries = models.IntegerField()
    # When the membership's latest counting term was written, whether it is cancelled and the member's last
    # sign-in: the at-risk count reads them without a join to 500,000 memberships and accounts.
    last_written = models.DateTimeField()
    cancelled = models.BooleanField()
    last_login = models.DateTimeField(null=True)

    class Meta:
        # Every index includes the columns its figures read, so each figure is an index-only scan.
        indexes = [
            models.Index(
                fields=["end"],
                include=["next_start", "membership_type", "country", "first", "joined"],
                name="termfact_end",
            ),
            models.Index(
                fields=["country", "end"],
                include=["next_start", "membership_type", "first", "joined"],
                name="termfact_country_end",
            ),
            models.Index(
                fields=["joined", "end"],
                include=["next_start", "membership_type", "country", "first"],
                name="termfact_joined_end",
            ),
            # Cohorts and new members read the first terms only.
            models.Index(
                fields=["joined"],
                include=["membership_type", "country", "source", "anniversaries"],
                condition=Q(first=True),
                name="termfact_first_joined",
            ),
            # Each membership's latest term: members at risk, members with access by country.
            models.Index(
                fields=["end"],
                include=[
                    "membership",
                    "membership_type",
                    "country",
                    "joined",
                    "last_written",
                    "cancelled",
                    "last_login",
                ],
                condition=Q(next_start__isnull=True),
                name="termfact_latest_end",
            ),
            # The few cancelled memberships' latest terms, which the dashboard takes off the counts.
            models.Index(
                fields=["end"],
                include=["country"],
                condition=Q(next_start__isnull=True, cancelled=True),
                name="termfact_cancelled_latest",
            ),
            models.Index(fields=["membership"], name="termfact_membership"),
        ]

    def __str__(self):
        return f"{self.term_id}: {self.start} – {self.end or '∞'}"


class RenewalCount(models.Model):
    """Terms with an end, counted by the month they end in: a change adds +n/-n rows (see the module)."""

    end_month = models.DateField()
    membership_type = models.ForeignKey(
        MembershipType, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    country = models.CharField(max_length=2)
    first = models.BooleanField()
    # Days from the end to the next term's start, at most MAX_GAP; None: no later term (yet).
    gap = models.SmallIntegerField(null=True)
    n = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(
                fields=["end_month"],
                include=["membership_type", "country", "first", "gap", "n"],
                name="renewalcount_month",
            )
        ]

    def __str__(self):
        return f"{self.end_month}: {self.n}"


class CohortCount(models.Model):
    """First terms counted by the month the member joined in: a change adds +n/-n rows (see the module)."""

    joined_month = models.DateField()
    membership_type = models.ForeignKey(
        MembershipType, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    country = models.CharField(max_length=2)
    source = models.CharField(max_length=10)
    anniversaries = models.IntegerField()
    n = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(
                fields=["joined_month"],
                include=["membership_type", "country", "source", "anniversaries", "n"],
                name="cohortcount_month",
            )
        ]

    def __str__(self):
        return f"{self.joined_month}: {self.n}"


class DuesCount(models.Model):
    """Paid orders counted by the day (UTC) they were paid: a change adds +n/-n rows (see the module)."""

    paid_on = models.DateField()
    currency = models.CharField(max_length=3)
    band = models.CharField(max_length=20)
    membership_type = models.ForeignKey(
        MembershipType, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    n = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(
                fields=["paid_on"], include=["currency", "band", "membership_type", "amount", "n"], name="duescount_day"
            )
        ]

    def __str__(self):
        return f"{self.paid_on}: {self.n}"


# A membership's facts are rewritten whole: a handful of rows, and no case can be forgotten (a renewal changes
# the previous term's next_start, a voided first term changes every row's joined date).
pgtrigger.Trigger(
    name="term_refreshes_facts",
    when=pgtrigger.After,
    operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
    func="""
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            PERFORM members_termfact_refresh(OLD.membership_id);
        END IF;
        IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.membership_id <> OLD.membership_id) THEN
            PERFORM members_termfact_refresh(NEW.membership_id);
        END IF;
        RETURN NULL;
    """,
).register(Term)

pgtrigger.Trigger(
    name="user_country_refreshes_facts",
    when=pgtrigger.After,
    operation=pgtrigger.UpdateOf("country", "last_login"),
    condition=pgtrigger.Q(old__country__df=pgtrigger.F("new__country"))
    | pgtrigger.Q(old__last_login__df=pgtrigger.F("new__last_login")),
    func="""
        PERFORM members_termfact_refresh(m.id) FROM members_membership m WHERE m.user_id = NEW.id;
        RETURN NULL;
    """,
).register(User)

pgtrigger.Trigger(
    name="membership_source_refreshes_facts",
    when=pgtrigger.After,
    operation=pgtrigger.UpdateOf("source", "user_id", "cancelled_at"),
    condition=pgtrigger.Q(old__source__df=pgtrigger.F("new__source"))
    | pgtrigger.Q(old__user_id__df=pgtrigger.F("new__user_id"))
    | pgtrigger.Q(old__cancelled_at__df=pgtrigger.F("new__cancelled_at")),
    func="""
        PERFORM members_termfact_refresh(NEW.id);
        RETURN NULL;
    """,
).register(Membership)

# An order counts while it is paid (a refund takes it off): the old row's part out, the new row's part in.
pgtrigger.Trigger(
    name="order_counts_dues",
    when=pgtrigger.After,
    operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
    func="""
        IF TG_OP = 'UPDATE' AND (OLD.status, OLD.paid_at, OLD.currency, OLD.band, OLD.membership_type_id, OLD.amount)
            IS NOT DISTINCT FROM (NEW.status, NEW.paid_at, NEW.currency, NEW.band, NEW.membership_type_id, NEW.amount)
        THEN
            RETURN NULL;
        END IF;
        IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'paid' AND OLD.paid_at IS NOT NULL THEN
            INSERT INTO members_duescount (paid_on, currency, band, membership_type_id, amount, n)
            VALUES ((OLD.paid_at AT TIME ZONE 'UTC')::date, OLD.currency, OLD.band, OLD.membership_type_id,
                -OLD.amount, -1);
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'paid' AND NEW.paid_at IS NOT NULL THEN
            INSERT INTO members_duescount (paid_on, currency, band, membership_type_id, amount, n)
            VALUES ((NEW.paid_at AT TIME ZONE 'UTC')::date, NEW.currency, NEW.band, NEW.membership_type_id,
                NEW.amount, 1);
        END IF;
        RETURN NULL;
    """,
).register(Order)
