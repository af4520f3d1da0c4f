"""Shared by the bench scripts: Django set up on the configured database, and latency figures."""

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
