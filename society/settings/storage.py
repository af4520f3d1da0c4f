"""STORAGE_URL: media and exports in S3-compatible object storage (AWS S3, MinIO, ...) through django-storages.

s3://ACCESS_KEY:SECRET_KEY@host[:port]/bucket?region=eu-central-1 (add &secure=false for plain HTTP, e.g. the
MinIO of docker-compose). Media are public URLs (under S3_MEDIA_URL, e.g. a CDN or the bucket's public address);
exports stay private, reached only through signed requests, and Django streams them to staff.
"""

from urllib.parse import parse_qs, unquote, urlsplit

from botocore.config import Config

S3_BACKEND = "storages.backends.s3.S3Storage"
# botocore's defaults (60 s to connect, five attempts) would hold a staff member's upload or download for minutes
# when the storage is unreachable; bounded, a storage that is down is a form error or a message within seconds.
CLIENT_CONFIG = Config(connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 3})


def s3_storages(url: str, *, media_url: str = "") -> dict:
    parts = urlsplit(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    scheme = "http" if query.get("secure") == "false" else "https"
    common = {
        "bucket_name": parts.path.strip("/"),
        "endpoint_url": f"{scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else ""),
        "access_key": unquote(parts.username or ""),
        "secret_key": unquote(parts.password or ""),
        "region_name": query.get("region", "us-east-1"),
        "file_overwrite": False,
        "default_acl": None,
        "client_config": CLIENT_CONFIG,
    }
    media = {**common, "location": "media", "querystring_auth": False}
    if "://" in media_url:
        protocol, domain = media_url.split("://", 1)
        media.update(custom_domain=domain.rstrip("/"), url_protocol=f"{protocol}:")
    return {
        "default": {"BACKEND": S3_BACKEND, "OPTIONS": media},
        "exports": {"BACKEND": S3_BACKEND, "OPTIONS": {**common, "location": "exports", "querystring_auth": True}},
    }


def media_origins(storages: dict) -> list[str]:
    """The origin browsers load media images from when they live in object storage, for the Content-Security-Policy's
    img-src: S3_MEDIA_URL's, else the endpoint's; none for local media, which are the site's own."""
    options = storages["default"].get("OPTIONS", {})
    if options.get("custom_domain"):
        return [f"{options['url_protocol']}//{options['custom_domain'].split('/', 1)[0]}"]
    return [options["endpoint_url"]] if options.get("endpoint_url") else []
