"""An optional read replica (DATABASE_REPLICA_URL) for heavy read-only staff work: exports and analytics.

Only reads inside `replica_reads()` go there, so nothing that reads its own fresh write (a form saved then
shown, a row claimed then read) can see a replica that lags behind. Writes always go to the primary.
"""

import contextlib
import contextvars

from django.conf import settings

REPLICA = "replica"
_replica_reads = contextvars.ContextVar("replica_reads", default=False)


@contextlib.contextmanager
def replica_reads():
    """Route the reads of this block to the replica when one is configured (to the primary otherwise)."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if _replica_reads.get() and REPLICA in settings.DATABASES:
            return REPLICA
        return None

    def db_for_write(self, model, **hints):
        # A row read from the replica and saved again is written to the primary, never to the replica.
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # both aliases hold the same data

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != REPLICA  # the replica follows the primary's schema by replication
