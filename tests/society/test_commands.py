import io
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg2
import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from psycopg2 import sql

ROOT = Path(__file__).resolve().parents[2]


def preflight(*args, **env_overrides):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "society.settings.local", **env_overrides}
    return subprocess.run(
        [sys.executable, "manage.py", "preflight", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _server():
    server = psycopg2.connect(dbname="postgres", user="postgres", host="127.0.0.1", port=5432)
    server.autocommit = True
    return server


def _database_exists(name) -> bool:
    with _server() as server, server.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return cursor.fetchone() is not None


@pytest.fixture
def old_history_database():
    """A database whose django_migrations table holds names from before the squash, as a developer's local
    database made by the old migrations does."""
    created = []

    def make(name=None):
        name = name or f"preflight_{uuid.uuid4().hex[:10]}"
        server = _server()
        with server.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        server.close()
        created.append(name)
        database = psycopg2.connect(dbname=name, user="postgres", host="127.0.0.1", port=5432)
        with database, database.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE django_migrations (id serial, app varchar(255), name varchar(255), applied timestamptz)"
            )
            cursor.executemany(
                "INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, now())",
                [
                    ("members", "0001_initial"),
                    ("members", "0010_merge_refunds_reminder_help"),
                    ("auth", "0001_initial"),
                ],
            )
        database.close()
        return name

    yield make
    server = _server()
    with server.cursor() as cursor:
        for name in created:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    server.close()


def test_preflight_names_an_unreachable_postgres_in_one_line_without_traceback():
    result = preflight(DATABASE_URL="postgres://postgres@127.0.0.1:1/society")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "PostgreSQL is not reachable at 127.0.0.1:1: start it with `docker compose up -d db redis` "
        "or your system's service manager."
    ]


def test_preflight_names_an_unreachable_redis_in_one_line_without_traceback():
    result = preflight(REDIS_URL="redis://127.0.0.1:1/0")
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("Redis is not reachable")
    assert "Traceback" not in result.stderr


def test_preflight_refuses_a_database_built_by_the_old_migrations_in_one_line(old_history_database):
    name = old_history_database()
    result = preflight(DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{name}")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Database {name} was built by an earlier migration history (members.0010_merge_refunds_reminder_help, …): "
        "recreate it with `make reset-db` (this deletes its data), then `make run`."
    ]
    assert _database_exists(name)  # refused, never dropped behind the developer's back


def test_make_reset_db_recreates_the_database_empty(old_history_database):
    name = old_history_database()
    result = preflight("--recreate", DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{name}", DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert f"Created database {name}." in result.stdout
    database = psycopg2.connect(dbname=name, user="postgres", host="127.0.0.1", port=5432)
    with database, database.cursor() as cursor:
        cursor.execute("SELECT to_regclass('django_migrations')")
        assert cursor.fetchone() == (None,)
    database.close()
    again = preflight(DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{name}", DEBUG="true")
    assert again.returncode == 0, again.stderr


def test_reset_db_refuses_to_run_with_debug_off(old_history_database):
    name = old_history_database()
    result = preflight("--recreate", DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{name}", DEBUG="false")
    assert result.returncode == 1
    assert "only runs with DEBUG on" in result.stderr
    assert _database_exists(name)


def test_make_test_drops_a_stale_test_database_by_itself(old_history_database):
    base = f"preflight_{uuid.uuid4().hex[:10]}"
    old_history_database(f"test_{base}")
    result = preflight(
        "--test-database",
        DJANGO_SETTINGS_MODULE="society.settings.test",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{base}",
    )
    assert result.returncode == 0, result.stderr
    assert f"Test database test_{base} was built by an earlier migration history: dropped." in result.stdout
    assert not _database_exists(f"test_{base}")


@pytest.mark.django_db
def test_preflight_accepts_a_database_migrated_by_the_current_migrations(settings):
    # The test database was made by `migrate` from the migrations in the tree.
    result = preflight(DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{settings.DATABASES['default']['NAME']}")
    assert result.returncode == 0, result.stderr


def _row_counts():
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


@pytest.mark.django_db
def test_seed_demo_twice_changes_nothing():
    call_command("seed_demo", "--force", stdout=io.StringIO())
    first = _row_counts()
    call_command("seed_demo", "--force", stdout=io.StringIO())
    assert _row_counts() == first
    assert first["members.User"] >= 1


@pytest.mark.django_db
def test_seed_demo_refuses_to_run_with_debug_off():
    with pytest.raises(CommandError, match="only runs with DEBUG on"):
        call_command("seed_demo")
