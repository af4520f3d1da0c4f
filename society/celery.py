import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "society.settings.local")

app = Celery("society")
# Every Celery option lives in Django settings under the CELERY_ prefix.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The default app for every thread, not only the importing one: shared_task proxies resolve the app
# per thread, and a web server's request threads would otherwise get Celery's fallback app (amqp://).
app.set_default()
