"""Upkeep of the retention facts (members.models.retention): the triggers keep them right on every write; these
two are for what triggers cannot see or should not do on every write."""

from django.db import connection, transaction


def term_facts_rebuild() -> None:
    """Every fact and count again from the terms, accounts and memberships: after writes made with triggers
    switched off (a bulk load with session_replication_role = replica). Writes to those tables wait meanwhile:
    about a minute at 500,000 members."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT members_termfact_rebuild()")


def term_facts_compact() -> None:
    """Sum the signed rows the triggers added to RenewalCount and CohortCount into one row per key, so the
    counts the figures read stay a few thousand rows. The figures are the same before and after."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT members_termfact_compact()")
