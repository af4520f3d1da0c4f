"""gunicorn settings for the web service, from the environment (Dockerfile: gunicorn -c deploy/gunicorn.conf.py).

Each web replica runs WEB_CONCURRENCY processes of GUNICORN_THREADS threads; every thread keeps its own database
connection for CONN_MAX_AGE seconds, so Postgres sees up to replicas x processes x threads connections from web
(README, "Scaling").
"""

import gc
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# Threads let a process wait on Postgres, Redis or Stripe for one request while serving another.
# One thread (sync workers) unless asked: measured with bench/load.py (2 processes, wrk at 16 connections), gthread
# with 2 threads and keep-alive halved the cheapest view's throughput (2,715 -> 1,273 req/s) and put its p99 at
# 1.4 s, against 10 ms with sync workers; the pages are CPU-bound, threads only add queueing behind the GIL.
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
# Above the slowest legitimate request (a large streamed CSV of < 5,000 rows, a PDF); larger exports run in Celery.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Longer than the proxy's idle keep-alive would waste sockets; shorter makes Caddy reconnect needlessly.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# The application is imported once, before the workers fork: a recycled worker starts in milliseconds instead of
# importing Django again (a second or more of one core, during which its share of requests waits).
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() in ("1", "true", "yes")
# Recycle processes now and then so a slow leak in any library never grows without bound; not so often that it
# shows: at 2,000 a busy worker was replaced every few seconds (at 20,000 still once in bench/load.py's run, the
# p99 of the page measured then jumping from 10 to 130 ms), and each new one starts with empty per-process
# memories (society/chrome.py, the page cache's local pages).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "100000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "10000"))
# Caddy logs every request it forwards (deploy/Caddyfile); gunicorn's own line per request is off unless asked
# for (GUNICORN_ACCESS_LOG=- for stdout), e.g. when web is reached without the proxy.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
# web is reachable only through Caddy on the internal network, which sets X-Forwarded-Proto itself.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")


def pre_fork(server, worker):
    """Just before each worker is forked: freeze what the preloaded application made. Frozen objects are never
    walked by a worker's garbage collector, which otherwise went through all of them (some 360,000: Django,
    the URL resolvers, translations, templates) on every full collection, a pause of 50-170 ms every few
    hundred requests that set the member pages' p99. Shared copy-on-write pages also stay shared."""
    gc.freeze()
