import datetime

import pytest
import time_machine

from members.models import Membership, MembershipStatus
from members.models.memberships import ACCESS_STATUSES, membership_status
from members.selectors import has_member_access, membership_status_for_user
from tests.factories import MembershipFactory, TermFactory

TODAY = datetime.date(2026, 11, 25)
DAY = datetime.timedelta(days=1)

# (days from today to the last term's end, expected status) with the defaults: window 90, grace 30.
BOUNDARIES = [
    (200, MembershipStatus.ACTIVE),
    (91, MembershipStatus.ACTIVE),
    (90, MembershipStatus.EXPIRING),
    (1, MembershipStatus.EXPIRING),
    (0, MembershipStatus.EXPIRING),  # the last day of a term is still covered
    (-1, MembershipStatus.GRACE),
    (-30, MembershipStatus.GRACE),
    (-31, MembershipStatus.LAPSED),
    (-400, MembershipStatus.LAPSED),
]


@pytest.mark.parametrize(("days_left", "expected"), BOUNDARIES)
def test_status_is_derived_from_the_end_date(days_left, expected):
    last_end = TODAY + days_left * DAY
    assert membership_status(today=TODAY, last_end=last_end) == expected


def test_no_paid_term_is_pending_and_cancellation_wins():
    assert membership_status(today=TODAY, last_end=None) == MembershipStatus.PENDING
    assert membership_status(today=TODAY, last_end=TODAY + 100 * DAY, cancelled=True) == MembershipStatus.CANCELLED


def test_window_and_grace_follow_settings(settings):
    settings.RENEWAL_WINDOW_DAYS = 30
    settings.GRACE_DAYS = 0
    assert membership_status(today=TODAY, last_end=TODAY + 31 * DAY) == MembershipStatus.ACTIVE
    assert membership_status(today=TODAY, last_end=TODAY - DAY) == MembershipStatus.LAPSED


@pytest.mark.django_db
@time_machine.travel(datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.UTC), tick=False)
def test_sql_annotation_agrees_with_the_function_at_every_boundary():
    expected = {}
    for days_left, status in BOUNDARIES:
        term = TermFactory(end=TODAY + days_left * DAY)
        expected[term.membership_id] = status
    pending = MembershipFactory()
    expected[pending.pk] = MembershipStatus.PENDING
    cancelled = TermFactory(end=TODAY + 100 * DAY).membership
    cancelled.cancelled_at = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)
    cancelled.cancel_reason = "Requested by the member"
    cancelled.save()
    expected[cancelled.pk] = MembershipStatus.CANCELLED

    annotated = {m.pk: m.status for m in Membership.objects.with_status()}
    assert annotated == expected
    assert {
        m.pk: membership_status(today=TODAY, last_end=m.last_end, cancelled=m.cancelled_at is not None)
        for m in Membership.objects.with_last_end()
    } == expected
    # with_access filters on the columns (for the planner), so check it selects exactly the access statuses.
    assert {m.pk: m.status for m in Membership.objects.with_access()} == {
        pk: status for pk, status in expected.items() if status in ACCESS_STATUSES
    }


@pytest.mark.django_db
def test_latest_term_decides_even_when_older_terms_exist():
    term = TermFactory(end=TODAY - 400 * DAY)
    TermFactory(membership=term.membership, end=TODAY + 200 * DAY)
    assert Membership.objects.with_status(TODAY).get().status == MembershipStatus.ACTIVE


@pytest.mark.django_db
def test_society_time_zone_decides_which_day_it_is(settings):
    # 23:30 UTC on the term's last day is already the next morning in Tokyo.
    settings.TIME_ZONE = "Asia/Tokyo"
    term = TermFactory(end=datetime.date(2026, 11, 25))
    with time_machine.travel(datetime.datetime(2026, 11, 25, 23, 30, tzinfo=datetime.UTC), tick=False):
        assert membership_status_for_user(term.membership.user) == MembershipStatus.GRACE
    settings.TIME_ZONE = "America/Los_Angeles"
    with time_machine.travel(datetime.datetime(2026, 11, 26, 7, 30, tzinfo=datetime.UTC), tick=False):
        assert membership_status_for_user(term.membership.user) == MembershipStatus.EXPIRING


@pytest.mark.django_db
def test_member_access_only_for_active_expiring_and_grace(member):
    with time_machine.travel(datetime.datetime(2026, 11, 25, 12, tzinfo=datetime.UTC), tick=False):
        assert has_member_access(member) is False  # no membership at all
        membership = MembershipFactory(user=member)
        assert has_member_access(member) is False  # pending
        term = TermFactory(membership=membership, end=TODAY - 10 * DAY)
        assert has_member_access(member) is True  # grace
        term.end = TODAY - 31 * DAY
        term.save()
        assert has_member_access(member) is False  # lapsed
    from django.contrib.auth.models import AnonymousUser

    assert has_member_access(AnonymousUser()) is False
