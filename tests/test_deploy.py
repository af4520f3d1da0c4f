"""deploy/gunicorn.conf.py: the web service's processes, threads and timeouts come from the environment."""

import runpy
from pathlib import Path

from gunicorn.config import Config

CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "gunicorn.conf.py"
NAMES = ["WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_TIMEOUT", "GUNICORN_GRACEFUL_TIMEOUT", "GUNICORN_KEEPALIVE"]


def gunicorn_settings() -> Config:
    """The file's settings applied to gunicorn's own Config, which refuses unknown names and wrong types."""
    config = Config()
    for name, value in runpy.run_path(str(CONFIG)).items():
        if not name.startswith("_") and name not in ("os", "gc"):
            config.set(name, value)
    return config


def test_processes_threads_and_timeouts_come_from_the_environment(monkeypatch):
    for name, value in zip(NAMES, ["5", "4", "90", "20", "7"], strict=True):
        monkeypatch.setenv(name, value)
    config = gunicorn_settings()
    assert (config.workers, config.threads, config.timeout, config.graceful_timeout, config.keepalive) == (
        5,
        4,
        90,
        20,
        7,
    )
    assert config.worker_class_str == "gthread"


def test_defaults_without_the_environment(monkeypatch):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    config = gunicorn_settings()
    assert (config.workers, config.threads, config.timeout) == (3, 1, 60)
    assert config.worker_class_str == "sync"  # gthread queued the cheapest view to a 1.4 s p99 (bench/load.py)
    assert config.bind == ["0.0.0.0:8000"]


def test_one_thread_runs_the_sync_worker(monkeypatch):
    monkeypatch.setenv("GUNICORN_THREADS", "1")
    assert gunicorn_settings().worker_class_str == "sync"


def test_the_preloaded_application_is_frozen_before_each_fork(monkeypatch):
    """Workers fork from a master that imported the application; what it made is frozen out of the workers'
    garbage collection (a full collection over it was a 50-170 ms pause)."""
    import gc

    config = gunicorn_settings()
    assert config.preload_app is True
    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        config.pre_fork(None, None)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


def test_workers_are_recycled_rarely(monkeypatch):
    monkeypatch.delenv("GUNICORN_MAX_REQUESTS", raising=False)
    # Every 2,000 requests replaced a busy worker every few seconds (bench/load.py).
    assert gunicorn_settings().max_requests >= 10_000
