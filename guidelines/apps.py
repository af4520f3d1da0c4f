from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GuidelinesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "guidelines"
    verbose_name = _("Guidelines")
