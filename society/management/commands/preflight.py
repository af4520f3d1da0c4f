"""Check that Postgres and Redis answer, create the database if it is missing, and refuse a database that an
earlier migration history built.

Run by `make run` and `make test` before anything else, so a missing service costs one clear line instead of
a traceback from deep inside Django or Celery.

The project's migrations were squashed in December 2026 (one straight line per app, new names where the old
files had duplicates). A database migrated by the old files records migration names that no longer exist; Django
would skip the new initial migrations whose names match old ones and then fail half-way. `make run` says so in
one line instead; `make test` recreates the throw-away test database by itself.
"""

import sys
from pathlib import Path

import psycopg2
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from psycopg2 import sql

from society.health import check_broker

HOW_TO_START = "start it with `docker compose up -d db redis` or your system's service manager"


def project_app_labels() -> set[str]:
    root = Path(settings.BASE_DIR).resolve()
    return {config.label for config in apps.get_app_configs() if root in Path(config.path).resolve().parents}


def unknown_migrations(applied: set[tuple[str, str]]) -> list[str]:
    """Of the (app, name) migrations a database records as applied, those of this project's apps that exist in
    no migration file."""
    on_disk = MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    ours = project_app_labels()
    return sorted(f"{app}.{name}" for app, name in applied if app in ours and (app, name) not in on_disk)


class Command(BaseCommand):
    help = (
        "Check Postgres and Redis, create the configured database if it does not exist, and check that its "
        "migration history is this project's. --test-database: check the test database instead (recreated when stale). "
        "--recreate: drop and recreate the configured database (local demo data only)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--test-database", action="store_true", help="Check the test database pytest reuses.")
        parser.add_argument("--recreate", action="store_true", help="Drop and recreate the database (DEBUG only).")

    def handle(self, *args, test_database=False, recreate=False, **options):
        db = settings.DATABASES["default"]
        where = f"{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}"
        name = connection.creation._get_test_db_name() if test_database else db["NAME"]
        if recreate and not settings.DEBUG:
            self._fail("preflight --recreate deletes the database; it only runs with DEBUG on.")
        try:
            server = psycopg2.connect(
                dbname="postgres",
                user=db.get("USER") or None,
                password=db.get("PASSWORD") or None,
                host=db.get("HOST") or None,
                port=db.get("PORT") or None,
                connect_timeout=3,
            )
        except psycopg2.OperationalError:
            self._fail(f"PostgreSQL is not reachable at {where}: {HOW_TO_START}.")
        server.autocommit = True
        try:
            if recreate:
                self._drop(server, name)
            if test_database:
                if self._exists(server, name) and self._is_stale(server, name):
                    # pytest --reuse-db would otherwise migrate it on top of the old history.
                    self._drop(server, name)
                    self.stdout.write(f"Test database {name} was built by an earlier migration history: dropped.")
            else:
                if not self._exists(server, name):
                    with server.cursor() as cursor:
                        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                    self.stdout.write(f"Created database {name}.")
                elif stale := self._is_stale(server, name):
                    self._fail(
                        f"Database {name} was built by an earlier migration history ({stale[0]}, …): recreate it "
                        "with `make reset-db` (this deletes its data), then `make run`."
                    )
        finally:
            server.close()

        if check_broker() is not None:
            self._fail(f"Redis is not reachable at the REDIS_URL configured: {HOW_TO_START}.")
        self.stdout.write(f"PostgreSQL ({where}, database {name}) and Redis are reachable.")

    @staticmethod
    def _exists(server, name) -> bool:
        with server.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            return cursor.fetchone() is not None

    @staticmethod
    def _drop(server, name) -> None:
        connection.close()  # our own connection to it, if any
        with server.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    @staticmethod
    def _is_stale(server, name) -> list[str]:
        database = psycopg2.connect(dsn=server.dsn, dbname=name)
        try:
            with database.cursor() as cursor:
                cursor.execute("SELECT to_regclass('django_migrations') IS NOT NULL")
                if not cursor.fetchone()[0]:
                    return []
                cursor.execute("SELECT app, name FROM django_migrations")
                return unknown_migrations(set(cursor.fetchall()))
        finally:
            database.close()

    def _fail(self, message):
        self.stderr.write(message)
        sys.exit(1)
