from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

EDITORS_GROUP = "Editors"
# What Editors manage: the texts and their history. Not webhook endpoints (their secrets sign what institutions
# trust) nor readers' subscriptions (personal data): those stay with superusers.
EDITOR_MODELS = (
    "guideline",
    "edition",
    "provision",
    "provisionversion",
    "historicaledition",
    "historicalprovisionversion",
)


def ensure_editors_group(sender, using="default", **kwargs):
    """The Editors group may manage guidelines, editions and provisions in the admin (published editions stay
    read-only there). Created after migrate, when the permissions exist, so every deployment has it."""
    from django.contrib.auth.models import Group, Permission

    group, _created = Group.objects.using(using).get_or_create(name=EDITORS_GROUP)
    group.permissions.add(
        *Permission.objects.using(using).filter(
            content_type__app_label="guidelines", content_type__model__in=EDITOR_MODELS
        )
    )


class GuidelinesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "guidelines"
    verbose_name = _("Guidelines")

    def ready(self):
        from guidelines import caching
        from society.page_cache import register_render_version

        post_migrate.connect(ensure_editors_group, sender=self)
        register_render_version(lambda: caching.RENDER_VERSION)
