"""Check that Postgres and Redis answer, and create the database if it is missing.

Run by `make run` and `make test` before anything else, so a missing service costs one clear
line instead of a traceback from deep inside Django or Celery.
"""

import sys

import psycopg2
from django.conf import settings
from django.core.management.base import BaseCommand
from psycopg2 import sql

from society.health import check_broker

HOW_TO_START = "start it with `docker compose up -d db redis` or your system's service manager"


class Command(BaseCommand):
    help = "Check Postgres and Redis, and create the configured database if it does not exist."

    def handle(self, *args, **options):
        db = settings.DATABASES["default"]
        where = f"{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}"
        try:
            conn = psycopg2.connect(
                dbname="postgres",
                user=db.get("USER") or None,
                password=db.get("PASSWORD") or None,
                host=db.get("HOST") or None,
                port=db.get("PORT") or None,
                connect_timeout=3,
            )
        except psycopg2.OperationalError:
            self._fail(f"PostgreSQL is not reachable at {where}: {HOW_TO_START}.")
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
                self.stdout.write(f"Created database {db['NAME']}.")
        conn.close()

        if check_broker() is not None:
            self._fail(f"Redis is not reachable at the REDIS_URL configured: {HOW_TO_START}.")
        self.stdout.write(f"PostgreSQL ({where}, database {db['NAME']}) and Redis are reachable.")

    def _fail(self, message):
        self.stderr.write(message)
        sys.exit(1)
