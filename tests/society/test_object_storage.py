"""STORAGE_URL against a real S3 endpoint: moto's standalone server (requirements-dev.txt) on a free port, spoken to
over HTTP by django-storages and boto3 exactly as they speak to AWS S3 or MinIO. Media are public objects the
pages link to; exports private objects Django streams to staff and the weekly purge deletes."""

import datetime
import io
import json
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
import requests
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from members.models import Membership
from society.models import ArticleStatus, Export, ExportStatus, NewsArticle
from society.services.exports import export_run, exports_purge
from society.settings.storage import s3_storages
from tests.clients import Client
from tests.factories import StaffFactory, TermFactory, UserFactory
from tests.workers import free_port, wait_for

BOTH_DATABASES = ["default", "replica"]
NOW = datetime.datetime(2026, 12, 5, 9, 0, tzinfo=datetime.UTC)
KEY, SECRET = "society-test", "society-test-secret"


class MotoServer:
    """moto's S3 (and every other service it fakes) as one HTTP server process, like MinIO in docker-compose."""

    def __init__(self, log: Path):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "w+")  # noqa: SIM115 (closed in __exit__)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def __enter__(self):
        def started():
            assert self.process.poll() is None, Path(self.log.name).read_text()
            try:
                return requests.get(f"{self.endpoint}/moto-api/", timeout=1).ok
            except requests.ConnectionError:
                return False

        wait_for(started, timeout=30, message="moto's S3 server listening")
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    with MotoServer(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


def s3_client(endpoint: str):
    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name="us-east-1"
    )


@pytest.fixture
def bucket(s3_server, settings, tmp_path):
    """A fresh bucket, and the settings STORAGE_URL and S3_MEDIA_URL give for it (MinIO's form: plain HTTP, a
    port, media linked at the bucket's public address); MEDIA_ROOT an empty folder nothing may be written to."""
    name = f"society-{uuid.uuid4().hex[:12]}"
    client = s3_client(s3_server.endpoint)
    client.create_bucket(Bucket=name)
    # What docker-compose's `mc anonymous set download local/society/media` does: media/ readable by anyone.
    public_media = {"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": ["s3:GetObject"]}
    public_media["Resource"] = [f"arn:aws:s3:::{name}/media/*"]
    client.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [public_media]}))
    url = f"s3://{KEY}:{SECRET}@127.0.0.1:{s3_server.port}/{name}?secure=false"
    settings.STORAGES = {**settings.STORAGES, **s3_storages(url, media_url=f"{s3_server.endpoint}/{name}")}
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EXPORTS_ROOT = tmp_path / "exports"

    def keys(prefix=""):
        listing = client.list_objects_v2(Bucket=name, Prefix=prefix)
        return [item["Key"] for item in listing.get("Contents", [])]

    return {"name": name, "client": client, "keys": keys, "public": f"{s3_server.endpoint}/{name}"}


def png(size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (20, 60, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def staff_client():
    client = Client()
    client.force_login(StaffFactory(is_superuser=True))
    return client


def admin_add_article(client, content: bytes):
    return client.post(
        reverse("admin:society_newsarticle_add"),
        {
            "title": "From the bucket",
            "slug": "from-the-bucket",
            "summary": "Summary.",
            "body": "Body.",
            "status": ArticleStatus.PUBLISHED,
            "publish_at_0": "2026-12-01",
            "publish_at_1": "08:00:00",
            "audience": "public",
            "image": SimpleUploadedFile("photo.png", content, content_type="image/png"),
            "image_alt": "A lab bench",
        },
    )


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


@pytest.mark.django_db(databases=BOTH_DATABASES)
def test_an_image_staff_upload_in_the_admin_is_an_object_in_the_bucket_the_article_page_links_to(bucket, settings):
    content = png()
    response = admin_add_article(staff_client(), content)
    assert response.status_code == 302, response.context["adminform"].form.errors

    article = NewsArticle.objects.get()
    key = f"media/{article.image.name}"
    assert bucket["keys"]("media/") == [key]
    assert bucket["client"].get_object(Bucket=bucket["name"], Key=key)["Body"].read() == content
    assert (article.image_width, article.image_height) == (40, 30)
    assert files_under(Path(settings.MEDIA_ROOT)) == []

    page = Client().get(article.get_absolute_url())
    assert page.status_code == 200
    body = page.content.decode()
    public_url = f"{bucket['public']}/{key}"
    assert f'<img src="{public_url}" alt="A lab bench" width="40" height="30">' in body
    # Link previews need the image's absolute address: the storage's own, not the site's address before it.
    assert f'<meta property="og:image" content="{public_url}">' in body
    assert f'<meta name="twitter:image" content="{public_url}">' in body
    # And what the page links to is the image, unsigned, for anyone.
    assert requests.get(public_url, timeout=5).content == content


def members(count: int) -> None:
    for number in range(count):
        user = UserFactory(email=f"ke{number}@example.org", country="KE")
        TermFactory(membership=Membership.objects.create(user=user))


@pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)
def test_a_background_export_is_a_private_object_staff_download_and_the_weekly_purge_deletes(bucket, settings):
    members(4)
    staff = StaffFactory(is_superuser=True)
    client = Client()
    client.force_login(staff)
    with time_machine.travel(NOW, tick=False):
        export = Export.objects.create(
            source="members.membership", title="Kenya", query="country=KE", requested_by=staff
        )
        export = export_run(export_id=export.pk)
    assert export.status == ExportStatus.DONE, export.error
    key = f"exports/{export.file.name}"
    assert bucket["keys"]("exports/") == [key]
    stored = bucket["client"].get_object(Bucket=bucket["name"], Key=key)["Body"].read()
    assert stored.decode().count("@example.org") == 4
    assert files_under(Path(settings.EXPORTS_ROOT)) == []
    assert files_under(Path(settings.MEDIA_ROOT)) == []
    # Personal data: the bucket's public half is media/ only, the export is never readable without a signature.
    assert requests.get(f"{bucket['public']}/{key}", timeout=5).status_code == 403

    download = client.get(reverse("admin:society_export_download", args=[export.pk]))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith('attachment; filename="memberships-')
    assert b"".join(download.streaming_content) == stored

    with time_machine.travel(NOW + datetime.timedelta(days=6, hours=23), tick=False):
        assert exports_purge() == {"stalled": 0, "deleted": 0}
    assert bucket["keys"]("exports/") == [key]
    with time_machine.travel(NOW + datetime.timedelta(days=7, minutes=1), tick=False):
        assert exports_purge() == {"stalled": 0, "deleted": 1}
    assert bucket["keys"]("exports/") == []
    assert not Export.objects.exists()


@pytest.fixture
def storage_down(bucket, settings):
    """STORAGE_URL naming an endpoint that refuses connections: a port nothing listens on."""
    url = f"s3://{KEY}:{SECRET}@127.0.0.1:{free_port()}/{bucket['name']}?secure=false"
    settings.STORAGES = {**settings.STORAGES, **s3_storages(url)}
    return bucket


@pytest.mark.django_db(databases=BOTH_DATABASES)
def test_an_upload_while_the_storage_is_down_is_a_form_error_and_leaves_no_article(storage_down, settings):
    response = admin_add_article(staff_client(), png())
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "could not be stored" in str(errors["image"])
    # What staff typed is still in the form, to send again once the storage is back.
    assert 'value="From the bucket"' in response.content.decode()
    assert not NewsArticle.objects.exists()
    assert files_under(Path(settings.MEDIA_ROOT)) == []


@pytest.mark.django_db(databases=BOTH_DATABASES)
def test_an_export_download_while_the_storage_is_down_is_a_message_not_an_error_page(bucket, settings):
    staff = StaffFactory(is_superuser=True)
    name = storages["exports"].save("exports/abc/memberships.csv", ContentFile(b"email\n"))
    export = Export.objects.create(
        source="members.membership",
        title="All",
        requested_by=staff,
        status=ExportStatus.DONE,
        file=name,
        rows_total=1,
        finished_at=timezone.now(),
    )
    client = Client()
    client.force_login(staff)
    refused = f"http://127.0.0.1:{free_port()}"
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            **settings.STORAGES["exports"],
            "OPTIONS": {**settings.STORAGES["exports"]["OPTIONS"], "endpoint_url": refused},
        },
    }
    response = client.get(reverse("admin:society_export_download", args=[export.pk]), follow=True)
    assert response.status_code == 200
    assert "could not be read from storage" in response.content.decode()
