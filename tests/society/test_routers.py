"""The read-replica router: only reads marked with replica_reads() go to the replica alias, writes never do.
The test settings point the "replica" alias at the test database itself (a mirror of default)."""

import pytest
from django.conf import settings as django_settings
from django.db import connections, router
from django.test.utils import CaptureQueriesContext

from members.models import User
from society.routers import REPLICA, ReplicaRouter, replica_reads
from tests.factories import UserFactory


def test_marked_reads_go_to_the_replica_and_writes_always_to_the_primary():
    assert router.db_for_read(User) == "default"
    with replica_reads():
        assert router.db_for_read(User) == REPLICA
        assert router.db_for_write(User) == "default"
        assert User.objects.all().db == REPLICA
    assert router.db_for_read(User) == "default"
    assert User.objects.all().db == "default"


def test_without_a_replica_marked_reads_stay_on_the_primary(monkeypatch):
    # Only the router's view of the settings changes (overriding DATABASES itself is refused with a warning).
    monkeypatch.delitem(django_settings.DATABASES, REPLICA)
    with replica_reads():
        assert ReplicaRouter().db_for_read(User) is None


def test_migrations_never_run_on_the_replica():
    assert ReplicaRouter().allow_migrate(REPLICA, "members") is False
    assert ReplicaRouter().allow_migrate("default", "members") is True


@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_a_row_read_from_the_replica_and_saved_is_written_to_the_primary():
    UserFactory(email="ada@example.org", full_name="Ada")
    with (
        CaptureQueriesContext(connections[REPLICA]) as replica,
        CaptureQueriesContext(connections["default"]) as primary,
        replica_reads(),
    ):
        user = User.objects.get(email="ada@example.org")
        user.full_name = "Ada Lovelace"
        user.save(update_fields=["full_name"])
    assert user._state.db == "default"
    assert [q["sql"].split()[0] for q in replica] == ["SELECT"]
    assert any(q["sql"].startswith('UPDATE "members_user"') for q in primary)
    assert User.objects.get(email="ada@example.org").full_name == "Ada Lovelace"
