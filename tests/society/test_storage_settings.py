"""STORAGE_URL moves media and exports to S3-compatible storage (django-storages); without it both stay in local
folders, exports outside the media folder the proxy serves."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.core.files.storage import storages
media, exports = storages["default"], storages["exports"]
print(json.dumps({
    "media": type(media).__name__, "exports": type(exports).__name__,
    "bucket": getattr(media, "bucket_name", None), "endpoint": getattr(media, "endpoint_url", None),
    "media_location": str(getattr(media, "location", "")), "exports_location": str(getattr(exports, "location", "")),
    "media_signed": getattr(media, "querystring_auth", None), "exports_signed": getattr(exports, "querystring_auth", None),
    "access_key": getattr(media, "access_key", None), "media_url": media.url("news/a.png"),
    "media_root": str(settings.MEDIA_ROOT),
    "timeouts": [getattr(getattr(media, "client_config", None), name, None) for name in ("connect_timeout", "retries")],
    "img_src": [str(source) for source in settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"]],
}))
"""


def storages_with(**env) -> dict:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "society.settings.production", "SECRET_KEY": "x" * 50}
    environment.pop("STORAGE_URL", None)
    environment.update(env)
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_storage_url_puts_public_media_and_private_exports_in_one_bucket():
    found = storages_with(
        STORAGE_URL="s3://society:se%2Fcret@minio:9000/society?secure=false",
        S3_MEDIA_URL="http://localhost:9000/society",
    )
    assert (found["media"], found["exports"]) == ("S3Storage", "S3Storage")
    assert (found["bucket"], found["endpoint"], found["access_key"]) == ("society", "http://minio:9000", "society")
    assert (found["media_location"], found["exports_location"]) == ("media", "exports")
    # Media links are plain public URLs; export files are only ever reached through a signed request.
    assert (found["media_signed"], found["exports_signed"]) == (False, True)
    assert found["media_url"] == "http://localhost:9000/society/media/news/a.png"
    # A storage that does not answer holds a request for seconds, not botocore's minutes.
    assert found["timeouts"] == [5, {"mode": "standard", "max_attempts": 3}]
    # Pages show those images: the browser may load them from the bucket's origin, and from nowhere else new.
    assert found["img_src"] == ["'self'", "data:", "http://localhost:9000"]


def test_without_s3_media_url_images_are_linked_and_allowed_at_the_endpoint():
    found = storages_with(STORAGE_URL="s3://k:s@storage.example:9000/society")
    assert found["media_url"] == "https://storage.example:9000/society/media/news/a.png"
    assert found["img_src"] == ["'self'", "data:", "https://storage.example:9000"]


def test_without_storage_url_exports_stay_outside_the_public_media_folder(tmp_path):
    found = storages_with(MEDIA_ROOT=str(tmp_path / "media"), EXPORTS_ROOT=str(tmp_path / "exports"))
    assert (found["media"], found["exports"]) == ("FileSystemStorage", "FileSystemStorage")
    assert found["exports_location"] == str(tmp_path / "exports")
    assert not Path(found["exports_location"]).is_relative_to(found["media_root"])
    assert found["img_src"] == ["'self'", "data:"]
