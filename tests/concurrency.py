"""Races between threads, each on its own database connection, forced the same way on every run.

A lock test that only starts threads at a barrier proves little: the threads may well run one after the
other, and the test passes with the lock removed. `race` holds every thread just after the statement
whose answer the lock must keep stable (the counter read, the pending orders, the membership's last
term) until each other thread has run it too, is waiting for a row lock, or has finished. Without the
lock, every thread therefore reads before any writes, which is the race, every time. With it, the
threads the lock blocks let the holder go on, so the test passes and never waits for a timeout.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection

# Only reached when a thread is stuck for a reason the test did not foresee; never part of a passing run.
DEADLINE_SECONDS = 30
POLL_SECONDS = 0.005


@dataclass
class Outcome:
    result: object = None
    error: BaseException | None = None


@dataclass
class _Rendezvous:
    decides: Callable[[str], bool]
    parties: int
    condition: threading.Condition = field(default_factory=threading.Condition)
    pids: dict[int, int] = field(default_factory=dict)
    arrived: set[int] = field(default_factory=set)
    finished: set[int] = field(default_factory=set)

    def wrapper(self, index: int):
        def execute(run, sql, params, many, context):
            result = run(sql, params, many, context)
            if index not in self.arrived and self.decides(sql):
                self.wait_for_the_others(index)
            return result

        return execute

    def waiting_for_a_lock(self, pid: int) -> bool:
        # pg_blocking_pids reads the lock table live; pg_stat_activity would be a snapshot per transaction.
        with connection.cursor() as cursor:
            cursor.execute("SELECT cardinality(pg_blocking_pids(%s)) > 0", [pid])
            return cursor.fetchone()[0]

    def wait_for_the_others(self, index: int) -> None:
        with self.condition:
            self.arrived.add(index)
            self.condition.notify_all()
        for _ in range(int(DEADLINE_SECONDS / POLL_SECONDS)):
            with self.condition:
                others = [other for other in range(self.parties) if other != index]
                pending = [other for other in others if other not in self.arrived and other not in self.finished]
                pids = [self.pids.get(other) for other in pending]
            if all(pid is not None and self.waiting_for_a_lock(pid) for pid in pids):
                return
            with self.condition:
                self.condition.wait(POLL_SECONDS)
        raise AssertionError("the racing threads never met after the deciding statement")

    def finish(self, index: int) -> None:
        with self.condition:
            self.finished.add(index)
            self.condition.notify_all()


def race(*calls: Callable[[], object], decides: Callable[[str], bool]) -> list[Outcome]:
    """Run each call in its own thread and database connection, all at once; return what each returned or raised.

    `decides(sql)` picks the statement after which each thread waits for the others (see the module)."""
    rendezvous = _Rendezvous(decides=decides, parties=len(calls))
    outcomes = [Outcome() for _ in calls]
    start = threading.Barrier(len(calls))

    def worker(index: int, call: Callable[[], object]) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                rendezvous.pids[index] = cursor.fetchone()[0]
            start.wait()
            with connection.execute_wrapper(rendezvous.wrapper(index)):
                outcomes[index].result = call()
        except BaseException as error:  # reported to the test, which asserts on it
            outcomes[index].error = error
        finally:
            rendezvous.finish(index)
            connection.close()

    threads = [threading.Thread(target=worker, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def errors_of(outcomes: list[Outcome]) -> list[BaseException]:
    return [outcome.error for outcome in outcomes if outcome.error is not None]
