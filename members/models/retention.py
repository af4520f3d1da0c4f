"""TermFact: one narrow row per counting term with what the retention figures ask of it, kept by the database.

The Retention page and the dashboard used to walk every term with window functions (the next term's start,
the member's first term, their country through two joins) on every computation: seconds at 500,000 members,
twenty for a filtered view. These facts are those answers written down once, when a term, a member's country
or a membership's source changes, so a figure is one indexed read of narrow rows.

Triggers (below, and in the database) rewrite a membership's facts from its terms whenever anything they
depend on is written, by any path: services, imports, admin, raw SQL. The rows are computed by one SQL
function, members_termfact_rows() (migration 0017), which the triggers and `term_facts_rebuild()` share, so
a rebuild and a trigger can never disagree. Writes that switch triggers off (the bench populations' bulk
loads, session_replication_role = replica) must call term_facts_rebuild() afterwards.
"""

import pgtrigger
from django.db import models
from django.db.models import Q

from .accounts import User
from .memberships import Membership, MembershipType, Term

# Cohort anniversaries a fact records (bit n of `anniversaries`): the Retention page shows 1, 2, 3 and 5.
MAX_ANNIVERSARY = 30


class TermFact(models.Model):
    """What the retention figures need to know about one counting term (voided terms have none)."""

    term = models.OneToOneField(Term, on_delete=models.CASCADE, primary_key=True, related_name="+")
    membership = models.ForeignKey(Membership, on_delete=models.DO_NOTHING, related_name="+", db_index=False)
    membership_type = models.ForeignKey(MembershipType, on_delete=models.DO_NOTHING, related_name="+", db_index=False)
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
    # When the membership's latest counting term was written (the at-risk figure: no sign-in since).
    last_written = models.DateTimeField()

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
                include=["membership", "membership_type", "country", "joined", "last_written"],
                condition=Q(next_start__isnull=True),
                name="termfact_latest_end",
            ),
            models.Index(fields=["membership"], name="termfact_membership"),
        ]

    def __str__(self):
        return f"{self.term_id}: {self.start} – {self.end or '∞'}"


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
    operation=pgtrigger.UpdateOf("country"),
    condition=pgtrigger.Q(old__country__df=pgtrigger.F("new__country")),
    func="""
        PERFORM members_termfact_refresh(m.id) FROM members_membership m WHERE m.user_id = NEW.id;
        RETURN NULL;
    """,
).register(User)

pgtrigger.Trigger(
    name="membership_source_refreshes_facts",
    when=pgtrigger.After,
    operation=pgtrigger.UpdateOf("source", "user_id"),
    condition=pgtrigger.Q(old__source__df=pgtrigger.F("new__source"))
    | pgtrigger.Q(old__user_id__df=pgtrigger.F("new__user_id")),
    func="""
        PERFORM members_termfact_refresh(NEW.id);
        RETURN NULL;
    """,
).register(Membership)
