"""`docker compose up --scale web=3 --scale worker=2`, without Docker (CI has no daemon and no image registry).

Two halves. First, docker-compose.yml as a real Compose parser reads it (Debian's docker-compose, which needs no
daemon; .ci/ensure-compose installs it): web and worker can be scaled, only the proxy is published, media are on
a volume shared with the proxy. Second, what compose would run, as processes on this machine: three gunicorn
replicas with the web service's command and deploy/gunicorn.conf.py, each on an address of its own and the same
port like containers, found by ONE Caddy running deploy/Caddyfile through DNS as compose's `web` is found, and two
Celery workers with the worker service's command. Through the proxy a member stays signed in whichever replica
answers, CSRF-protected forms work whichever replica gets them, a file staff upload through one replica is served
by the proxy, and tasks queued once run once while both workers take tasks at the same time.

What is not run: containers, images, Docker's network and its DNS (a small DNS server below stands in for it).
"""

import asyncio
import contextlib
import io
import json
import os
import re
import shutil
import signal
import socket
import socketserver
import struct
import subprocess
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
import requests
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from celery import Celery
from django.conf import settings as django_settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from PIL import Image

from members.models import User
from society.models import NewsArticle, OutgoingEmail
from society.models.mail import OutgoingEmailStatus
from tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory
from tests.workers import RecordingHandler, RedisServer, SMTPServer, free_port, wait_for

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
CADDYFILE = ROOT / "deploy" / "Caddyfile"
WEB_REPLICAS = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]  # one address per replica, as each container has one
WORKERS = 2
WORKER_CONCURRENCY = 2
SERVICE_NAME = "web"


# --- docker-compose.yml, read by a real Compose parser ------------------------------------------------------


@pytest.fixture(scope="module")
def compose(tmp_path_factory) -> dict:
    """`docker-compose config`: the file validated against the Compose schema, anchors merged, variables
    interpolated, as `docker compose up` would see it after the README's `cp .env.example .env`."""
    docker_compose = shutil.which("docker-compose")
    assert docker_compose, "docker-compose is missing: run .ci/ensure-compose (make test does)"
    project = tmp_path_factory.mktemp("compose")
    shutil.copy(ROOT / ".env.example", project / ".env")
    result = subprocess.run(
        [docker_compose, "--project-directory", str(project), "-f", str(COMPOSE_FILE), "config"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": os.environ["PATH"], "HOME": str(project)},
    )
    assert result.returncode == 0, result.stderr
    # What it printed is YAML; the parser's own Python reads it (Debian's docker-compose depends on PyYAML).
    interpreter = Path(docker_compose).read_text().splitlines()[0].removeprefix("#!").split()
    as_json = subprocess.run(
        [*interpreter, "-c", "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"],
        input=result.stdout,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(as_json.stdout)


def volume_mounts(service: dict) -> dict[str, tuple[str, str]]:
    """{volume name: (path in the container, mode)} of the named volumes a service mounts."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target, *mode = volume.split(":")
        if not source.startswith(("/", ".")):
            mounts[source] = (target, mode[0] if mode else "rw")
    return mounts


LOOPBACK = {"127.0.0.1", "[::1]", "::1", "localhost"}


def publishes_outside(port: str | dict) -> bool:
    # Printed as "127.0.0.1:5432:5432/tcp" (this host only) or {"published": 80, "target": 80} (everywhere).
    if isinstance(port, dict):
        return port.get("host_ip", "0.0.0.0") not in LOOPBACK
    parts = port.split(":")
    return len(parts) < 3 or parts[0] not in LOOPBACK


def test_compose_file_is_valid_and_web_and_worker_can_be_scaled(compose):
    services = compose["services"]
    for name in ("web", "worker"):
        service = services[name]
        # A fixed container name or host port would make a second replica fail to start.
        assert "container_name" not in service, name
        assert "ports" not in service, name
    # Beat stays one process whatever the scale: a second would queue every periodic job twice.
    assert services["beat"]["deploy"]["replicas"] == 1


def test_only_the_proxy_is_reachable_from_outside(compose):
    published = {
        name for name, service in compose["services"].items() if any(map(publishes_outside, service.get("ports", [])))
    }
    assert published == {"proxy"}
    # The proxy finds every replica of web by the service's name, on the port gunicorn listens on.
    proxy_env, web = compose["services"]["proxy"]["environment"], compose["services"]["web"]
    assert (proxy_env["UPSTREAM_HOST"], proxy_env["UPSTREAM_PORT"]) == (SERVICE_NAME, "8000")
    assert web["expose"] == ["8000"]


def test_media_are_one_volume_that_web_and_worker_write_and_the_proxy_serves(compose):
    services = compose["services"]
    assert "media" in compose["volumes"]
    for name in ("web", "worker"):
        target, mode = volume_mounts(services[name])["media"]
        assert (target, mode) == (services[name]["environment"]["MEDIA_ROOT"], "rw"), name
        assert "STORAGE_URL" in services[name]["environment"]  # or S3-compatible storage instead
    target, mode = volume_mounts(services["proxy"])["media"]
    assert (target, mode) == (services["proxy"]["environment"]["MEDIA_ROOT"], "ro")


def test_processes_threads_and_timeouts_come_from_the_environment(compose):
    web, worker = compose["services"]["web"], compose["services"]["worker"]
    assert web["command"] == ["gunicorn", "society.wsgi:application", "--config", "deploy/gunicorn.conf.py"]
    # deploy/gunicorn.conf.py reads them (tests/test_deploy.py); .env can change each.
    assert {"WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_TIMEOUT"} <= set(web["environment"])
    assert "--concurrency=${WORKER_CONCURRENCY:-2}" in worker_command(compose)[-1]
    assert "WORKER_CONCURRENCY" in worker["environment"]


def worker_command(compose) -> list[str]:
    # The printed file escapes a literal $ as $$ again; the shell in the container sees one.
    return [part.replace("$$", "$") for part in compose["services"]["worker"]["command"]]


# --- The stack compose would run, as processes ------------------------------------------------------------


class ServiceDNS(socketserver.ThreadingUDPServer):
    """Docker's embedded DNS in miniature: the service's name answers with the address of every replica (A
    records, no AAAA), so Caddy's `dynamic a` upstreams find the replicas as they find them in compose."""

    def __init__(self, name: str, addresses: list[str]):
        self.name, self.addresses = name.encode(), addresses
        super().__init__(("127.0.0.1", 0), DNSAnswer)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        return "{}:{}".format(*self.server_address)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


class DNSAnswer(socketserver.BaseRequestHandler):
    def handle(self):
        query, sock = self.request
        ident, flags = struct.unpack(">HH", query[:4])
        offset, labels = 12, []
        while length := query[offset]:
            labels.append(query[offset + 1 : offset + 1 + length])
            offset += 1 + length
        (qtype,) = struct.unpack(">H", query[offset + 1 : offset + 3])
        question = query[12 : offset + 5]
        known = b".".join(labels).lower() == self.server.name
        answers = [address for address in self.server.addresses if known and qtype == 1]
        # Response, authoritative, recursion asked (copied) and available; NXDOMAIN for any other name.
        header = struct.pack(">HHHHHH", ident, 0x8480 | (flags & 0x0100) | (0 if known else 3), 1, len(answers), 0, 0)
        records = b"".join(struct.pack(">HHHIH", 0xC00C, 1, 1, 0, 4) + socket.inet_aton(address) for address in answers)
        sock.sendto(header + question + records, self.client_address)


class Process:
    """One container's main process; its output is its log, like `docker compose logs <service>`."""

    def __init__(self, name: str, args: list[str], env: dict, logs: Path):
        self.name = name
        self.terminated = False
        self.log_path = logs / f"{name}.log"
        self.log = open(self.log_path, "w+")  # noqa: SIM115 (closed in stop)
        # A session of its own, so stopping it also stops the processes it forked (gunicorn's, Celery's).
        self.process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self) -> str:
        return self.log_path.read_text()

    def check_running(self):
        assert self.process.poll() is None, f"{self.name} exited:\n{self.output()[-4000:]}"

    def terminate(self):
        # As `docker compose stop` does: SIGTERM to the main process, which stops its own children.
        if self.process.poll() is None and not self.terminated:
            self.process.terminate()
            self.terminated = True

    def stop(self):
        if self.process.poll() is None:
            self.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # the leader is not reaped yet: still our group
                self.process.wait(timeout=10)
        # A process the leader forked and left behind keeps the group, so its id cannot belong to anybody else.
        if self.group_members():
            os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()

    def group_members(self) -> list[int]:
        members = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                # pid (name) state ppid pgrp ...: the name may hold spaces and parentheses, the fields after it not.
                if int(stat.read_text().rsplit(")", 1)[1].split()[2]) == self.process.pid:
                    members.append(int(stat.parent.name))
        return members

    def children(self) -> set[int]:
        found = set()
        for status in Path("/proc").glob("[0-9]*/status"):
            with contextlib.suppress(OSError):
                if f"PPid:\t{self.process.pid}\n" in status.read_text():
                    found.add(int(status.parent.name))
        return found


def accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class GatedSMTP(RecordingHandler):
    """An SMTP server that holds every message at DATA until the test opens the gate, counting the
    conversations held at once: four held together can only be both workers' two processes each."""

    def __init__(self):
        super().__init__()
        self.gate = threading.Event()
        self.held = 0

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.held += 1
        await asyncio.get_running_loop().run_in_executor(None, self.gate.wait, 60)
        with self.lock:
            self.held -= 1
        self._keep(envelope)
        return "250 2.0.0 Ok: queued"

    def holding(self) -> int:
        with self.lock:
            return self.held


class Stack:
    def __init__(self, *, compose: dict, tmp_path: Path, smtp_port: int, redis_url: str):
        self.logs = tmp_path / "logs"
        self.logs.mkdir()
        self.media_root = tmp_path / "media"
        self.media_root.mkdir()
        (tmp_path / "static").mkdir()
        self.caddy_port = free_port()
        self.web_port = free_port()  # the same port on every replica's address, as 8000 in every container
        self.origin = f"https://127.0.0.1:{self.caddy_port}"
        self.redis_url = redis_url
        db = django_settings.DATABASES["default"]
        credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
        # The environment compose gives web and worker (docker-compose.yml, x-app), with this machine's services.
        self.env = {
            "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
            "LANG": "C.UTF-8",
            "DJANGO_SETTINGS_MODULE": "tests.scaleout_settings",
            "SECRET_KEY": "scaleout-test-key-shared-by-every-replica-0123456789abcdefghij",
            "DATABASE_URL": f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "REDIS_URL": redis_url,
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": self.origin,
            "MEDIA_ROOT": str(self.media_root),
            "EXPORTS_ROOT": str(tmp_path / "exports"),
            "STATIC_ROOT": str(tmp_path / "static"),
            "TRUSTED_PROXY_COUNT": "1",
            "WEB_CONCURRENCY": "1",
            "WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
            "LOG_LEVEL": "WARNING",
            # Which replica served a request is read from its access log, off by default (Caddy logs requests).
            "GUNICORN_ACCESS_LOG": "-",
        }
        self.compose = compose
        self.tmp_path = tmp_path
        self.web: dict[str, Process] = {}
        self.workers: list[Process] = []
        self.dns = ServiceDNS(SERVICE_NAME, WEB_REPLICAS)
        self.control = Celery("scaleout-control", broker=redis_url, set_as_current=False)

    def start(self):
        self.dns.__enter__()
        web_command = self.compose["services"]["web"]["command"]
        for number, address in enumerate(WEB_REPLICAS, start=1):
            # Each container has its own home (gunicorn keeps a control socket there) and its own address.
            home = self.tmp_path / f"web-{number}"
            home.mkdir()
            env = {**self.env, "HOME": str(home), "GUNICORN_BIND": f"{address}:{self.web_port}"}
            self.web[address] = Process(f"web-{number}", web_command, env, self.logs)
        for number in range(1, WORKERS + 1):
            # Each container has its own host name, hence its own Celery node name.
            command = worker_command(self.compose)
            command[-1] += f" --hostname=worker-{number}@%h"
            env = {**self.env, "HOME": str(self.tmp_path)}
            self.workers.append(Process(f"worker-{number}", command, env, self.logs))
        caddy_env = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.tmp_path),
            "XDG_DATA_HOME": str(self.tmp_path / "caddy-data"),
            "XDG_CONFIG_HOME": str(self.tmp_path / "caddy-config"),
            "HTTP_PORT": str(self.caddy_port),
            "UPSTREAM_HOST": SERVICE_NAME,
            "UPSTREAM_PORT": str(self.web_port),
            "UPSTREAM_DNS": f"resolvers udp/{self.dns.address}",
            "MEDIA_ROOT": str(self.media_root),
            # This test stands for the load balancer that terminates TLS in front of Caddy.
            "TRUSTED_PROXIES": "127.0.0.1/32",
        }
        caddy = [shutil.which("caddy"), "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"]
        self.proxy = Process("proxy", caddy, caddy_env, self.logs)
        self.wait_until_ready()
        return self

    def processes(self) -> list[Process]:
        return [*self.web.values(), *self.workers, self.proxy]

    def wait_until_ready(self):
        def listening():
            for process in self.processes():
                process.check_running()
            return all(accepts(address, self.web_port) for address in self.web) and accepts(
                "127.0.0.1", self.caddy_port
            )

        wait_for(listening, timeout=60, interval=0.2, message="gunicorn replicas and Caddy listening")

        def workers_answer():
            for worker in self.workers:
                worker.check_running()
            return len(self.control.control.ping(timeout=0.5)) == WORKERS

        wait_for(workers_answer, timeout=90, interval=0.2, message="both Celery workers to answer a ping")

    def stop(self):
        for process in self.processes():
            process.terminate()  # all at once, then wait for each
        for process in self.processes():
            process.stop()
        self.dns.__exit__()
        self.control.close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.caddy_port}{path}"

    def served_by(self, probe: str) -> str:
        """The replica whose access log has the request (gunicorn logs each with its User-Agent, once sent)."""

        def find():
            found = [address for address, process in self.web.items() if f'"{probe}"' in process.output()]
            assert len(found) <= 1, (probe, found)
            return found[0] if found else None

        return wait_for(find, timeout=10, message=f"the access log line of {probe}")


class Browser:
    def __init__(self, stack: Stack):
        self.stack = stack
        self.session = requests.Session()
        # What the load balancer adds, and the Origin a browser sends with a form on this site.
        self.session.headers.update({"X-Forwarded-Proto": "https", "Origin": stack.origin})

    def request(self, method: str, path: str, **kwargs) -> tuple[requests.Response, str]:
        """One request, not following redirects (a redirect is another request, maybe to another replica),
        and the replica that answered it."""
        probe = f"scaleout-probe/{uuid.uuid4().hex}"
        response = self.session.request(
            method, self.stack.url(path), headers={"User-Agent": probe}, allow_redirects=False, timeout=30, **kwargs
        )
        # 502/503 from Caddy: no replica reached (none found through DNS, or none answering).
        assert response.status_code not in {502, 503}, self.stack.proxy.output()[-3000:]
        # The browser speaks HTTPS to the load balancer this test stands for, so the Secure cookies of production
        # travel back although the test's own hop to Caddy is plain HTTP.
        for cookie in self.session.cookies:
            cookie.secure = False
        return response, self.stack.served_by(probe)

    def get(self, path: str) -> tuple[requests.Response, str]:
        return self.request("GET", path)

    def post(self, path: str, data: dict, *, files=None):
        """Submit the form on `path` as a browser does: the page first (from whichever replica), then the POST
        (to whichever replica) with the CSRF token that page carried."""
        page, _replica = self.get(path)
        assert page.status_code == 200, (path, page.status_code)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        return self.request("POST", path, data={"csrfmiddlewaretoken": token, **data}, files=files)


@pytest.fixture
def smtp(transactional_db):
    server = SMTPServer()
    server.handler = GatedSMTP()
    server.start()
    yield server
    server.handler.gate.set()
    server.stop()


@pytest.fixture
def stack(compose, transactional_db, tmp_path, smtp):
    if not shutil.which("caddy"):
        pytest.fail("Caddy is missing: run .ci/ensure-caddy (make test does)")
    broker = RedisServer()  # the stack's own Redis: broker, cache and rate limits, as the redis service
    broker.start()
    stack = Stack(compose=compose, tmp_path=tmp_path, smtp_port=smtp.port, redis_url=broker.url)
    try:
        yield stack.start()
    finally:
        stack.stop()
        broker.stop()


def problems(response: requests.Response) -> str:
    """What a form page says went wrong, for an assertion's message."""
    return " | ".join(re.findall(r'class="[^"]*error[^"]*"[^>]*>(.*?)</', response.text, re.S)) or response.text[-1500:]


def log_in(browser: Browser, user: User, *, totp_secret: str | None = None):
    # Hashed as production hashes it: the test settings' fast MD5 hasher is not one the replicas accept.
    hasher = PBKDF2PasswordHasher()
    User.objects.filter(pk=user.pk).update(password=hasher.encode(DEFAULT_PASSWORD, hasher.salt()))
    response, _replica = browser.post("/accounts/login/", {"login": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302, problems(response)
    if totp_secret:
        assert response.headers["Location"] == "/accounts/2fa/authenticate/"
        code = format_hotp_value(hotp_value(totp_secret, int(time.time()) // django_settings.MFA_TOTP_PERIOD))
        response, _replica = browser.post("/accounts/2fa/authenticate/", {"code": code})
        assert response.status_code == 302, problems(response)


def until_every_replica(send, *, attempts: int = 60) -> dict[str, list]:
    """Repeat `send()` (which returns what it checked and the replica that answered) until every replica has
    answered at least once. Caddy picks among idle replicas at random: missing one of three in 60 tries
    happens once in 10^10 runs."""
    by_replica: dict[str, list] = {}
    for _attempt in range(attempts):
        result, replica = send()
        by_replica.setdefault(replica, []).append(result)
        if len(by_replica) == len(WEB_REPLICAS):
            return by_replica
    raise AssertionError(f"only {sorted(by_replica)} answered in {attempts} requests")


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 60, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_three_web_replicas_behind_one_caddy_serve_one_site(stack):
    member = UserFactory(full_name="Ana Souza", country="BR", institution="Instituto Butantan")
    browser = Browser(stack)
    log_in(browser, member)

    # Signed in once, signed in on every replica: the session lives in Postgres, not in a process.
    def profile_page():
        response, replica = browser.get("/membership/profile/")
        return (response.status_code, member.email in response.text), replica

    pages = until_every_replica(profile_page)
    assert {result for results in pages.values() for result in results} == {(200, True)}

    # A CSRF-protected form works whichever replica sends the page and whichever gets the POST.
    saved = []

    def save_profile():
        institution = f"Lab {len(saved) + 1}"
        response, replica = browser.post(
            "/membership/profile/",
            {"full_name": member.full_name, "country": "BR", "institution": institution, "language": "en"},
        )
        saved.append(institution)
        return (response.status_code, response.headers.get("Location")), replica

    posts = until_every_replica(save_profile)
    assert {result for results in posts.values() for result in results} == {(302, "/membership/profile/")}
    member.refresh_from_db()
    assert member.institution == saved[-1]
    # ...and the check is real on every path: a forged token is refused.
    forged, _replica = browser.request("POST", "/membership/profile/", data={"csrfmiddlewaretoken": "x" * 64})
    assert forged.status_code == 403

    # Staff upload an image through whichever replica gets the form; the proxy serves it from the shared volume.
    staff = StaffFactory(is_superuser=True, mfa=False)
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    office = Browser(stack)
    log_in(office, staff, totp_secret=secret)
    image = png_bytes()
    response, uploaded_by = office.post(
        "/admin/society/newsarticle/add/",
        {
            "title": "Annual meeting",
            "slug": "annual-meeting",
            "summary": "Summary.",
            "body": "Body.",
            "status": "draft",
            "audience": "public",
            "image_alt": "The meeting hall",
        },
        files={"image": ("hall.png", image, "image/png")},
    )
    assert response.status_code == 302, problems(response)
    name = NewsArticle.objects.get(slug="annual-meeting").image.name
    assert (stack.media_root / name).read_bytes() == image
    served = requests.get(stack.url(f"/media/{name}"), timeout=10)
    assert (served.status_code, served.content, served.headers["Content-Type"]) == (200, image, "image/png")
    # Caddy answered it from the folder: no replica saw the request.
    assert not any(f"/media/{name}" in process.output() for process in stack.web.values()), uploaded_by


def test_each_task_queued_once_runs_once_while_both_workers_take_tasks(stack, smtp):
    members = [UserFactory() for _n in range(8)]
    browser = Browser(stack)
    # Eight password resets through the proxy: each commits one outbox email and queues one task for it.
    for member in members:
        response, _replica = browser.post("/accounts/password/reset/", {"email": member.email})
        assert response.status_code == 302, problems(response)

    # Four messages held at DATA at once: two workers x two processes, every one busy with a task of its own.
    wait_for(
        lambda: smtp.handler.holding() == WORKERS * WORKER_CONCURRENCY,
        timeout=60,
        message="both workers' processes to be sending at the same time",
    )
    smtp.handler.gate.set()
    emails = OutgoingEmail.objects.filter(to__in=[member.email for member in members])
    wait_for(
        lambda: emails.filter(status=OutgoingEmailStatus.SENT).count() == len(members),
        timeout=60,
        message="every email to be sent",
    )

    # Nothing left anywhere that could still send a copy: the queue is empty and no worker holds a task.
    broker = redis.Redis.from_url(stack.redis_url)
    inspect = stack.control.control.inspect(timeout=1)

    def drained():
        active, reserved = inspect.active() or {}, inspect.reserved() or {}
        return (
            broker.llen("celery") == 0
            and len(active) == WORKERS
            and not any(active.values())
            and not any(reserved.values())
        )

    wait_for(drained, timeout=30, interval=0.2, message="the queue and the workers to be idle")
    broker.close()
    assert smtp.handler.recipients() == {member.email: 1 for member in members}
    assert set(emails.values_list("attempts", flat=True)) == {1}
    # Each email was claimed by one process of one worker, and both workers claimed some.
    trees = [{worker.process.pid} | worker.children() for worker in stack.workers]
    claimers = {int(claim.split(":")[1]) for claim in emails.values_list("claimed_by", flat=True)}
    assert all(sum(pid in tree for tree in trees) == 1 for pid in claimers), (claimers, trees)
    assert all(claimers & tree for tree in trees)
