from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from members.models import User
from members.services.accounts import PROFILE_FIELDS
from members.validators import orcid_normalise
from society.admin.base import HistoryAdmin, LargeTableAdminMixin


class VerifiedEmailFilter(admin.SimpleListFilter):
    title = _("verified email")
    parameter_name = "verified_email"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() in {"yes", "no"}:
            return queryset.filter(has_verified_email=self.value() == "yes")
        return queryset


class MFAFilter(admin.SimpleListFilter):
    title = _("two-factor authentication")
    parameter_name = "mfa"

    def lookups(self, request, model_admin):
        return [("yes", _("Enabled")), ("no", _("Not enabled"))]

    def queryset(self, request, queryset):
        if self.value() in {"yes", "no"}:
            return queryset.filter(has_mfa=self.value() == "yes")
        return queryset


class ErasedFilter(admin.SimpleListFilter):
    title = _("erased")
    parameter_name = "erased"

    def lookups(self, request, model_admin):
        return [("yes", _("Erased members")), ("no", _("Not erased"))]

    def queryset(self, request, queryset):
        if self.value() in {"yes", "no"}:
            return queryset.filter(erased_at__isnull=self.value() == "no")
        return queryset


@admin.register(User)
class UserAdmin(LargeTableAdminMixin, HistoryAdmin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = [
        "email",
        "display_name",
        "country_name",
        "institution",
        "verified_email",
        "mfa_enabled",
        "is_staff",
        "date_joined",
    ]
    list_filter = ["is_staff", VerifiedEmailFilter, MFAFilter, "country", "is_active", "is_superuser", ErasedFilter]
    search_fields = ["email", "full_name", "preferred_name", "orcid", "institution"]
    # The password hash is never shown, not even masked: staff only get the link to set a new one.
    readonly_fields = ["password_status", "date_joined", "last_login", "profile_updated_at", "erased_at"]
    fieldsets = [
        (None, {"fields": ["email", "password_status"]}),
        (
            _("Profile"),
            {"fields": [*PROFILE_FIELDS, "profile_updated_at"]},
        ),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined", "erased_at"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "full_name", "country", "password1", "password2"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # Membership staff edit members, not privileges: otherwise anyone with change_user could make
            # themselves a superuser.
            fields += ["is_staff", "is_superuser", "groups", "user_permissions"]
        return fields

    def get_search_results(self, request, queryset, search_term):
        # Staff paste ORCID iDs as URLs ("https://orcid.org/0000-…"); search for the stored form.
        if "orcid.org/" in search_term.lower():
            search_term = orcid_normalise(search_term)
        # search_fields read through their trigram indexes (STAFF_SEARCH_KEYS), not as a scan of every account.
        return queryset.searched_by_staff(search_term, self.search_fields), False

    def get_queryset(self, request):
        verified = EmailAddress.objects.filter(user=OuterRef("pk"), verified=True)
        mfa = Authenticator.objects.filter(user=OuterRef("pk"), type=Authenticator.Type.TOTP)
        return super().get_queryset(request).annotate(has_verified_email=Exists(verified), has_mfa=Exists(mfa))

    @admin.display(description=_("name"), ordering="full_name")
    def display_name(self, obj):
        return str(obj) if obj.erased_at else obj.full_name

    @admin.display(description=_("country"), ordering="country")
    def country_name(self, obj):
        # Not the field itself: the admin looks a choice field's label up in its ~250 choices again for each
        # row, which was most of the time of a 100-row page.
        return obj.country.name

    @admin.display(description=_("verified email"), boolean=True, ordering="has_verified_email")
    def verified_email(self, obj):
        return obj.has_verified_email

    @admin.display(description=_("MFA"), boolean=True, ordering="has_mfa")
    def mfa_enabled(self, obj):
        return obj.has_mfa

    @admin.display(description=_("password"))
    def password_status(self, obj):
        if obj.pk is None:
            return "—"
        state = _("set") if obj.has_usable_password() else _("not set (sign-in by ORCID or disabled)")
        url = reverse("admin:auth_user_password_change", args=[obj.pk])
        return format_html('{} · <a href="{}">{}</a>', state, url, _("set a new password"))
