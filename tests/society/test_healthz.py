import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from society.health import REMINDER_JOB
from society.services.jobs import heartbeat_record

ROOT = Path(__file__).resolve().parents[2]

# Probe /healthz/ from a fresh process whose settings point a service at a closed port:
# the running test process keeps its own working connections.
PROBE = """
import django, json
django.setup()
from django.test import Client
response = Client().get("/healthz/")
print(json.dumps({"status": response.status_code, "body": response.json()}))
"""


def probe(**env_overrides):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "society.settings.test", **env_overrides}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.django_db
def test_healthz_reports_ok_when_services_are_up(client):
    heartbeat_record(name=REMINDER_JOB, result={})
    response = client.get("/healthz/")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok", "reminders": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_answers_503_naming_the_database_when_it_is_unreachable():
    result = probe(DATABASE_URL="postgres://postgres:sekrit@127.0.0.1:1/society")
    assert result["status"] == 503
    assert result["body"]["database"].startswith("down")
    assert result["body"]["broker"] == "ok"
    assert "sekrit" not in json.dumps(result)


def test_healthz_answers_503_naming_the_broker_when_redis_is_unreachable():
    result = probe(REDIS_URL="redis://127.0.0.1:1/0")
    assert result["status"] == 503
    assert result["body"]["broker"].startswith("down")
    assert result["body"]["database"] == "ok"
