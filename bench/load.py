"""Load the public pages the way a crowd does: gunicorn with production settings, driven by wrk.

Usage: python bench/load.py [seconds-per-page]
Creates (once) the bench database `<DATABASE_URL name>_bench` with the demo data, starts gunicorn (the production
configuration, deploy/gunicorn.conf.py, with 2 worker processes; society.settings.production; plain HTTP behind the `X-Forwarded-Proto: https` header the proxy sends) twice,
with the page cache on and off (PAGE_CACHE=false), and prints req/s, p50 and p99 per page at 16 connections,
with the ratio to the cheapest view (/robots.txt: the whole middleware stack, no work). Needs wrk
(.ci/ensure-wrk) and the machine's Postgres and Redis. Not run in CI: it prints figures, it tests nothing.
"""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PORT = int(os.environ.get("BENCH_PORT", "8765"))
CONNECTIONS = 16
SECRET = "bench-only-key-bench-only-key-bench-only-key-0123456789"


def bench_env(**extra):
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/society")
    env = {
        **{name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"},
        "DATABASE_URL": base.rsplit("/", 1)[0] + "/" + base.rsplit("/", 1)[1] + "_bench",
        "SECRET_KEY": SECRET,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": f"http://127.0.0.1:{PORT}",
        **extra,
    }
    return env


def manage(*args, **extra):
    env = bench_env(**{"DJANGO_SETTINGS_MODULE": "society.settings.local", **extra})
    return subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True)


SETUP = """
from django.urls import reverse
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
from guidelines.models import Edition, Provision
from members.models import User
from society.models import NewsArticle, Page
editions = list(Edition.objects.filter(status="published").select_related("guideline").order_by("guideline", "published_on"))
old, new = editions[0], [e for e in editions if e.guideline_id == editions[0].guideline_id][-1]
provision = Provision.objects.filter(guideline=old.guideline, versions__edition=old).first()
g = old.guideline.slug
article = NewsArticle.objects.published().public().first()
page = Page.objects.first()
urls = [("home", "/"), ("about", "/about/"), ("news list", "/news/"), ("news article", article.get_absolute_url()),
  ("news feed", "/news/feed/rss/"), ("guideline list", "/guidelines/"), ("guideline", f"/guidelines/{g}/"),
  ("edition", old.get_absolute_url()), ("provision", f"/guidelines/{g}/{old.slug}/{provision.slug}/"),
  ("compare", f"/guidelines/{g}/compare/{old.slug}/{new.slug}/"), ("history", f"/guidelines/{g}/history/{provision.slug}/"),
  ("search", "/guidelines/search/?q=cell"), ("home (es)", "/es/"), ("news list (es)", "/es/news/"), ("sitemap", "/sitemap.xml")]
if page: urls.insert(2, ("page", page.get_absolute_url()))
user = User.objects.filter(is_staff=False).order_by("pk").first()
session = SessionStore()
session[SESSION_KEY] = str(user.pk); session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash(); session.create()
for name, url in urls: print(f"URL\\t{name}\\t{url}")
print(f"SESSION\\t{session.session_key}")
"""


def prepare():
    env = bench_env()
    name = env["DATABASE_URL"].rsplit("/", 1)[1]
    server = env["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    exists = subprocess.run(
        ["psql", server, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"], capture_output=True, text=True
    ).stdout.strip()
    if not exists:
        subprocess.run(["psql", server, "-c", f'CREATE DATABASE "{name}"'], check=True, capture_output=True)
    manage("migrate", "--noinput")
    # Production settings serve hashed static names from the manifest (whitenoise): collect them first, into
    # the ignored staticfiles/ folder, or every page would fail on its first {% static %}.
    manage("collectstatic", "--noinput", DJANGO_SETTINGS_MODULE="society.settings.production")
    if not exists:
        manage("seed_demo", DEBUG="true")
    out = manage("shell", "-c", SETUP).stdout
    urls = [tuple(line.split("\t")[1:]) for line in out.splitlines() if line.startswith("URL\t")]
    session = next(line.split("\t")[1] for line in out.splitlines() if line.startswith("SESSION\t"))
    return urls, session


def start_gunicorn(page_cache: bool):
    # The production web server's own configuration (deploy/gunicorn.conf.py: sync workers unless GUNICORN_THREADS
    # is set, which compares gthread), with the two worker processes.
    env = bench_env(
        DJANGO_SETTINGS_MODULE="society.settings.production",
        PAGE_CACHE="true" if page_cache else "false",
        SECURE_HSTS_SECONDS="0",
        WEB_CONCURRENCY="2",
        GUNICORN_BIND=f"127.0.0.1:{PORT}",
    )
    process = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "-c", str(ROOT / "deploy/gunicorn.conf.py"), "society.wsgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(
                f"http://127.0.0.1:{PORT}/robots.txt", headers={"X-Forwarded-Proto": "https"}
            )
            urllib.request.urlopen(request, timeout=1)
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


# A signed-in member's pages: never from the page cache, so measured once, with the session cookie.
MEMBER_PAGES = (
    ("member: membership", "/membership/"),
    ("member: profile", "/membership/profile/"),
    ("member: directory", "/membership/directory/"),
    ("member: directory search", "/membership/directory/?q=an"),
)


def _ms(text):
    found = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if found is None:  # wrk prints "-nanus" when no request completed
        return float("nan")
    value, unit = found.groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def wrk(url, seconds, cookie=None):
    headers = ["-H", "X-Forwarded-Proto: https"]
    if cookie:
        headers += ["-H", f"Cookie: sessionid={cookie}"]
    command = [
        "wrk",
        "-t2",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--latency",
        *headers,
        f"http://127.0.0.1:{PORT}{url}",
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    # Anchored to the start of the line: "73.50%" in the thread stats above must not match.
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p50, p99, int(errors.group(1)) if errors else 0


def warm_up(url, cookie=None):
    """A few requests first, so that each worker has compiled the page's templates (as a running site has) and
    the page is in the cache: a measurement of five seconds would otherwise count the first requests' start-up."""
    headers = {"X-Forwarded-Proto": "https"}
    if cookie:
        headers["Cookie"] = f"sessionid={cookie}"
    for _ in range(6):
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{PORT}{url}", headers=headers)).read()


def main():
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    subprocess.run(["bash", str(ROOT / ".ci/ensure-wrk")], check=True)
    urls, session = prepare()
    rows = []
    for page_cache in (True, False):
        process = start_gunicorn(page_cache)
        try:
            label = "cached" if page_cache else "uncached"
            if page_cache:
                rows.append(("cheapest view /robots.txt", *wrk("/robots.txt", seconds)))
            for name, url in urls:
                warm_up(url)
                rows.append((f"{name} ({label})", *wrk(url, seconds)))
            if page_cache:
                for name, url in MEMBER_PAGES:
                    warm_up(url, cookie=session)
                    rows.append((name, *wrk(url, seconds, cookie=session)))
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    base = rows[0][1]
    threads = os.environ.get("GUNICORN_THREADS", "1")
    print(
        f"\n{CONNECTIONS} connections, {seconds}s per page, gunicorn 2 workers x {threads} threads, {os.cpu_count()} cores"
    )
    print("| page | req/s | p50 ms | p99 ms | ratio | non-2xx/3xx |")
    print("|---|---|---|---|---|---|")
    for name, rps, p50, p99, errors in rows:
        print(f"| {name} | {rps:.0f} | {p50:.1f} | {p99:.1f} | {rps / base:.2f} | {errors} |")


if __name__ == "__main__":
    main()
