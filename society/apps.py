from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SocietyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "society"
    verbose_name = _("Society site")
