import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def preflight(**env_overrides):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "society.settings.local", **env_overrides}
    return subprocess.run(
        [sys.executable, "manage.py", "preflight"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


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
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="only runs with DEBUG on"):
        call_command("seed_demo")
