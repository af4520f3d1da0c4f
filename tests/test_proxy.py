"""deploy/Caddyfile, run by Debian's Caddy in front of a live test server: compression, /media/ from the shared
folder, and X-Forwarded-Proto as Django's SECURE_PROXY_SSL_HEADER reads it (the production settings)."""

import gzip
import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest
import requests
import zstandard
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.urls import reverse

from tests.guidelines.factories import build_edition
from tests.workers import free_port, wait_for

ROOT = Path(__file__).resolve().parents[1]
CADDYFILE = ROOT / "deploy" / "Caddyfile"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 64


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class DjangoServer:
    """The project's WSGI application on a free port, built after the test's settings (so its middleware sees
    them), and with no media handler of its own: /media/ must come from the proxy."""

    def __init__(self):
        self.port = free_port()
        self.httpd = ThreadedWSGIServer(("127.0.0.1", self.port), QuietHandler, allow_reuse_address=True)
        self.httpd.set_app(WSGIHandler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Caddy:
    def __init__(self, *, upstream_port: int, media_root: Path, home: Path, trusted_proxies: str | None = None):
        self.port = free_port()
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(home),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "HTTP_PORT": str(self.port),
            "UPSTREAM_HOST": "127.0.0.1",
            "UPSTREAM_PORT": str(upstream_port),
            "MEDIA_ROOT": str(media_root),
        }
        if trusted_proxies:
            env["TRUSTED_PROXIES"] = trusted_proxies
        self.log = open(home / "caddy.log", "w+")  # noqa: SIM115 (closed in __exit__)
        self.process = subprocess.Popen(
            [shutil.which("caddy"), "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def __enter__(self):
        def started():
            assert self.process.poll() is None, Path(self.log.name).read_text()
            return accepts(self.port)

        wait_for(started, timeout=20, message="Caddy listening")
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def production_like(settings, tmp_path):
    """What society/settings/production.py sets about the proxy, with the local media folder of the stack."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings


@pytest.fixture
def stack(production_like, transactional_db, tmp_path):
    def start(*, trusted_proxies=None):
        server = DjangoServer()
        caddy = Caddy(
            upstream_port=server.port,
            media_root=production_like.MEDIA_ROOT,
            home=tmp_path,
            trusted_proxies=trusted_proxies,
        )
        return server, caddy

    return start


# Stands for the load balancer that terminates TLS in front of Caddy: the test itself, on 127.0.0.1.
AS_TLS_LOAD_BALANCER = {"X-Forwarded-Proto": "https"}


def test_html_css_and_xml_are_compressed_with_zstd_or_gzip(stack):
    edition = build_edition(provisions=12)
    json_url = reverse("guidelines:edition-json", kwargs={"guideline": edition.guideline.slug, "edition": edition.slug})
    server, caddy = stack(trusted_proxies="127.0.0.1/32")
    with server, caddy:
        for path, content_type in [
            ("/", "text/html"),
            (edition.get_absolute_url(), "text/html"),
            ("/static/css/site.css", "text/css"),
            ("/static/js/site.js", "text/javascript"),
            (json_url, "application/json"),
            ("/sitemap-guideline-provisions.xml", "application/xml"),
        ]:
            plain = requests.get(caddy.url(path), headers={**AS_TLS_LOAD_BALANCER, "Accept-Encoding": "identity"})
            assert plain.status_code == 200, path
            assert plain.headers["Content-Type"].startswith(content_type)
            assert "Content-Encoding" not in plain.headers

            zstd = requests.get(
                caddy.url(path), headers={**AS_TLS_LOAD_BALANCER, "Accept-Encoding": "zstd"}, stream=True
            )
            assert zstd.headers.get("Content-Encoding") == "zstd", (path, len(plain.content))
            compressed = zstd.raw.read()
            assert len(compressed) < len(plain.content)
            assert zstandard.ZstdDecompressor().decompressobj().decompress(compressed) == plain.content

            gz = requests.get(caddy.url(path), headers={**AS_TLS_LOAD_BALANCER, "Accept-Encoding": "gzip"}, stream=True)
            assert gz.headers.get("Content-Encoding") == "gzip", path
            assert gzip.decompress(gz.raw.read()) == plain.content


def test_uploaded_media_are_served_from_the_shared_folder_as_inert_files(stack):
    server, caddy = stack()
    name = default_storage.save("news/2026/figure.png", ContentFile(PNG))
    with server, caddy:
        response = requests.get(caddy.url(f"/media/{name}"))
        assert response.status_code == 200
        assert response.content == PNG
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response.headers["Content-Security-Policy"]
        assert requests.get(caddy.url("/media/news/2026/missing.png")).status_code == 404


def test_a_client_cannot_claim_https_over_plain_http(stack):
    server, caddy = stack()
    with server, caddy:
        response = requests.get(caddy.url("/"), headers=AS_TLS_LOAD_BALANCER, allow_redirects=False)
    # Caddy replaced the client's header with the scheme it saw: Django sees HTTP and sends the visitor to HTTPS.
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://127.0.0.1:{caddy.port}/"


def test_https_forwarded_by_a_trusted_proxy_is_secure_without_a_redirect_loop(stack):
    server, caddy = stack(trusted_proxies="127.0.0.1/32")
    with server, caddy:
        secure = requests.get(caddy.url("/"), headers=AS_TLS_LOAD_BALANCER, allow_redirects=False)
        assert secure.status_code == 200  # request.is_secure(): no redirect to where the visitor already is
        plain = requests.get(caddy.url("/"), allow_redirects=False)
        assert plain.status_code == 301
        assert plain.headers["Location"].startswith("https://")
        # The orchestrator's health probe over plain HTTP is exempt.
        assert requests.get(caddy.url("/healthz/"), allow_redirects=False).status_code in {200, 503}
