"""Real services for the outbox tests: a local SMTP server, a Celery worker on a Redis database of
its own, a throw-away Redis server. Used through the fixtures in tests/conftest.py."""

import asyncio
import contextlib
import email
import email.policy
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import redis
from aiosmtpd.controller import Controller
from celery import Celery
from celery import _state as celery_state
from celery.contrib.testing.worker import start_worker

ROOT = Path(__file__).resolve().parents[1]
# Redis is shared by every engineer on this machine: worker tests use their own database number and
# a queue name unique to the run, so they never take anybody else's tasks (and nobody takes theirs).
TEST_BROKER_DB = 11


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout=30.0, interval=0.05, message="condition"):
    """Poll `condition` until it returns something truthy, failing after `timeout` seconds. A bounded
    wait on an observable state, for work done by a real worker in another thread or process."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


class RecordingHandler:
    """An SMTP server's DATA handler that keeps what it accepted and can be told to misbehave."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()
        self.transient_failures = 0
        self.reject_recipients = False
        self.hold = None  # (arrived, release) events: stall the next DATA until released
        self.hold_keeps_message = False  # after the stall: accept (True) or act as a dropped sender
        # Keep the message before the stall, as a server that has queued it but not yet replied: the
        # copy survives even if the sender dies during the stall (which cancels this handler).
        self.hold_after_accepting = False
        self.hold_from = 0  # stall only once this many messages were kept (a worker mid-batch)
        self.connections = 0  # SMTP sessions opened (counted at EHLO/HELO)
        self.drop_at_message = None  # close the connection at MAIL FROM once this many were kept, once

    def answer_451(self, times: int):
        self.transient_failures = times

    def hold_next_message(self):
        self.hold = (threading.Event(), threading.Event())
        return self.hold

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        with self.lock:
            self.connections += 1
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        session.host_name = hostname
        with self.lock:
            self.connections += 1
        return f"250 {server.hostname}"

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.drop_at_message is not None and self.count() >= self.drop_at_message:
            self.drop_at_message = None
            # Gone before answering: the client sees the connection drop, nothing was accepted.
            server.transport.close()
            return "421 4.4.2 Closing connection"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject_recipients:
            return "550 5.1.1 Recipient address rejected: user unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.hold and self.count() >= self.hold_from:
            arrived, release = self.hold
            self.hold = None
            if self.hold_after_accepting:
                self._keep(envelope)
            arrived.set()
            await asyncio.get_running_loop().run_in_executor(None, release.wait, 30)
            if self.hold_after_accepting:
                return "250 2.0.0 Ok: queued"
            if not self.hold_keeps_message:
                # The sender went away before we answered: a real server would not deliver this.
                return "451 4.4.2 Connection dropped"
        with self.lock:
            if self.transient_failures:
                self.transient_failures -= 1
                return "451 4.3.0 Temporary failure, try again later"
        self._keep(envelope)
        return "250 2.0.0 Ok: queued"

    def _keep(self, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)

    def recipients(self) -> Counter:
        with self.lock:
            return Counter(str(message["To"]) for message in self.messages)

    def count(self) -> int:
        with self.lock:
            return len(self.messages)


class SMTPServer:
    """aiosmtpd on a fixed local port that can be stopped and started again (an outage)."""

    def __init__(self):
        self.handler = RecordingHandler()
        self.port = free_port()
        self.controller = None

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None


class RedisServer:
    """A private redis-server on a free port, so a test can stop and start a broker."""

    def __init__(self):
        self.port = free_port()
        self.process = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        wait_for(lambda: self._ping(client), timeout=10, message="redis-server to answer")
        client.close()

    @staticmethod
    def _ping(client):
        try:
            return client.ping()
        except redis.ConnectionError:
            return False

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def make_test_app(broker_url: str, queue: str) -> Celery:
    """The society's Celery configuration with the broker and default queue swapped."""
    app = Celery("society-tests", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(broker_url=broker_url, task_default_queue=queue, worker_hijack_root_logger=False)
    # Shared tasks join an app when it is finalised; the worker's registry must already hold them.
    app.autodiscover_tasks(["society", "members", "guidelines"], force=True)
    return app


@contextlib.contextmanager
def current_celery_app(app: Celery):
    """Make `app` the app that shared tasks publish through, in every thread, for the block."""
    previous_current, previous_default = celery_state._tls.current_app, celery_state.default_app
    app.set_current()
    app.set_default()
    try:
        yield app
    finally:
        celery_state._set_current_app(previous_current)
        celery_state.set_default_app(previous_default)


@contextlib.contextmanager
def worker_thread(app: Celery, pool: str = "threads", concurrency: int = 2):
    with start_worker(app, pool=pool, concurrency=concurrency, perform_ping_check=False, shutdown_timeout=30):
        yield


def delete_queue(broker_url: str, queue: str):
    client = redis.Redis.from_url(broker_url)
    try:
        for key in client.scan_iter(match=f"*{queue}*"):
            client.delete(key)
    except redis.ConnectionError:
        pass
    finally:
        client.close()


def new_queue_name() -> str:
    return f"outbox-tests-{uuid.uuid4().hex[:12]}"


class WorkerProcess:
    """`celery worker` as a separate process (so it can be SIGKILLed), on the test database."""

    def __init__(self, *, broker_url: str, queue: str, database_name: str, smtp_port: int, application_name=""):
        self.args = [
            str(ROOT / ".venv/bin/celery"),
            "-A",
            "society",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=WARNING",
        ]
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "society.settings.local",
            "DEBUG": "false",
            "SECRET_KEY": "worker-process-test-key-0123456789abcdefghijklmnopqrstuvwxyz",
            # application_name lets a test find (and terminate) this worker's database connections only.
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database_name}"
            + (f"?application_name={application_name}" if application_name else ""),
            "REDIS_URL": broker_url,
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "OUTBOX_RETRY_BASE_SECONDS": "0",
            "LOG_LEVEL": "WARNING",
        }
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            self.args, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def kill(self):
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
