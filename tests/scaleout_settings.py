"""The settings each web replica and worker of docker-compose.yml runs (society.settings.production), for the
processes tests/test_scaleout.py starts. One difference: static files come from static/ as they are, because the
image's hashed copies are made by `collectstatic` at build time, which has nothing to do with scaling out."""

from society.settings.production import *  # noqa: F403
from society.settings.production import STORAGES

STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
WHITENOISE_USE_FINDERS = True
