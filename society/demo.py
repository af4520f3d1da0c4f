from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sites.models import Site


def seed(command):
    domain = urlsplit(settings.SITE_URL).netloc or "localhost:8000"
    Site.objects.update_or_create(pk=settings.SITE_ID, defaults={"domain": domain, "name": settings.SOCIETY_NAME})
