"""Shared by the bench scripts: Django set up on the configured database, and latency figures."""

import contextlib
import math
import os
import statistics
import sys
import warnings
from pathlib import Path


def setup_django() -> None:
    """Load the project with production-like settings (DEBUG off) against DATABASE_URL."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "society.settings.local")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-only-key-bench-only-key-bench-only-key-0123456789")
    # No collectstatic for a bench run; static files are not what is measured.
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()


def latency_figures(timings: list[float]) -> dict[str, float]:
    """Requests per second and p50/p99 in milliseconds, from per-request durations in seconds."""
    timings = sorted(timings)
    return {
        "rps": len(timings) / sum(timings),
        "p50_ms": statistics.median(timings) * 1000,
        "p99_ms": timings[min(len(timings) - 1, int(len(timings) * 0.99))] * 1000,
    }


def percentiles(timings: list[float]) -> dict[str, float]:
    """p50 and p95 in milliseconds, from per-request durations in seconds."""
    timings = sorted(timings)
    return {
        "p50_ms": statistics.median(timings) * 1000,
        "p95_ms": timings[min(len(timings) - 1, math.ceil(len(timings) * 0.95) - 1)] * 1000,
    }


def throwaway_database(suffix: str, *, reuse: bool = False):
    """Point DATABASE_URL at a fresh database `<name>_<suffix>` (dropped and created again) before Django loads;
    returns the function that drops it at the end of the run. With `reuse`, an existing one is kept as it is
    (a 500,000-member population takes a minute to write; measuring again should not)."""
    import environ
    import psycopg2

    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/society")
    base = environ.Env.db_url_config(base_url)
    name = f"{base['NAME']}_{suffix}"
    os.environ["DATABASE_URL"] = base_url.rsplit("/", 1)[0] + "/" + name

    def execute(*statements):
        connection = psycopg2.connect(
            dbname="postgres",
            user=base["USER"],
            host=base["HOST"],
            port=base["PORT"] or 5432,
            password=base["PASSWORD"],
        )
        connection.autocommit = True
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        connection.close()

    def drop():
        from django.db import connections

        connections.close_all()
        execute(f'DROP DATABASE IF EXISTS "{name}"')

    if reuse:
        with contextlib.suppress(psycopg2.errors.DuplicateDatabase):
            execute(f'CREATE DATABASE "{name}"')
    else:
        execute(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    return drop
