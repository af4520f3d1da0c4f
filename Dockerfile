# The application image: web (gunicorn), worker and beat all run from it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=society.settings.production

WORKDIR /app
# gettext only to compile the translation catalogues (locale/*/LC_MESSAGES/*.po -> .mo) below.
RUN apt-get update && apt-get install -y --no-install-recommends gettext libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-core fonts-noto-cjk && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# collectstatic needs settings to load; the key here is thrown away with the build layer.
RUN SECRET_KEY=collectstatic-only-build-time-key python manage.py collectstatic --noinput \
    && SECRET_KEY=compilemessages-only-build-time-key python manage.py compilemessages -v0 \
    && useradd --create-home --uid 10001 society \
    && mkdir -p /app/media /app/exports && chown society:society /app/media /app/exports

USER society
EXPOSE 8000
# Processes, threads and timeouts from the environment (deploy/gunicorn.conf.py).
CMD ["gunicorn", "society.wsgi:application", "--config", "deploy/gunicorn.conf.py"]
