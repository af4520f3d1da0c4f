from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_staff_groups(sender, apps=None, **kwargs):
    from django.apps import apps as global_apps

    from members.services.accounts import groups_sync

    # `flush` (after transactional tests) sends post_migrate without a historical `apps`.
    apps = apps or global_apps
    try:
        apps.get_model("auth", "Permission")
    except LookupError:
        return
    groups_sync(apps=apps)


class MembersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "members"
    verbose_name = _("Members")

    def ready(self):
        from allauth.socialaccount.signals import social_account_added

        from members.adapters import on_social_account_added

        social_account_added.connect(on_social_account_added, dispatch_uid="members_orcid_link")
        from members.services.documents import EMAILS_WITH_DOCUMENT, email_attachment
        from society.services.mail import attachment_maker_register

        attachment_maker_register(kinds=EMAILS_WITH_DOCUMENT, maker=email_attachment)
        from members.services.announcements import KIND, announcement_opt_outs
        from society.services.mail import opt_out_check_register

        opt_out_check_register(kinds=[KIND], check=announcement_opt_outs)
        # Groups get the permissions of every model that exists, including models other apps add later.
        post_migrate.connect(_sync_staff_groups, dispatch_uid="members_groups_sync")
        # The services call Stripe through members.services.stripe_api.client(), which reads STRIPE_API_BASE on
        # every call; the package's global default follows it too, for any call made without that client.
        import stripe
        from django.conf import settings

        stripe.api_base = settings.STRIPE_API_BASE
