from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SocietyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "society"
    verbose_name = _("Society site")

    def ready(self):
        from allauth.mfa.signals import authenticator_added

        from society.access import record_mfa_on_activation
        from society.page_cache import connect_content_signals

        authenticator_added.connect(record_mfa_on_activation, dispatch_uid="society_mfa_on_activation")
        connect_content_signals()
