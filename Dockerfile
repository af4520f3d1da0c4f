# The application image: web (gunicorn), worker and beat all run from it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=society.settings.production

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# collectstatic needs settings to load; the key here is thrown away with the build layer.
RUN SECRET_KEY=collectstatic-only-build-time-key python manage.py collectstatic --noinput \
    && useradd --create-home --uid 10001 society \
    && mkdir -p /app/media && chown society:society /app/media

USER society
EXPOSE 8000
CMD ["gunicorn", "society.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
