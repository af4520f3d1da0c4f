from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Exists, OuterRef
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from members.models import IncomeBand, Membership, MembershipStatus, User
from members.services.accounts import PROFILE_FIELDS
from members.validators import orcid_normalise
from society.admin.base import HistoryAdmin, LargeTableAdminMixin
from society.admin.exports import BackgroundExportMixin
from society.models import OutgoingEmail


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
class UserAdmin(LargeTableAdminMixin, BackgroundExportMixin, HistoryAdmin, DjangoUserAdmin):
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
    readonly_fields = [
        "membership_link",
        "password_status",
        "date_joined",
        "last_login",
        "profile_updated_at",
        "erased_at",
    ]
    fieldsets = [
        (None, {"fields": ["email", "password_status", "membership_link"]}),
        (
            _("Profile"),
            {"fields": [*PROFILE_FIELDS, "profile_updated_at"]},
        ),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined", "erased_at"]}),
    ]
    export_header = ["email", "full name", "country", "institution", "ORCID", "verified email", "MFA", "joined"]
    export_filename = "accounts"
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "full_name", "country", "password1", "password2"]}),
    ]

    def export_rows(self, queryset):
        rows = queryset.values_list(
            "email", "full_name", "country", "institution", "orcid", "has_verified_email", "has_mfa", "date_joined"
        )
        for email, name, country, *rest in rows.iterator(chunk_size=2000):
            yield [email, name, countries.name(country) or country, *rest]

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

    @admin.display(description=_("membership"))
    def membership_link(self, obj):
        """The member's page proper (terms, orders, emails, reminders) is their membership's."""
        membership = Membership.objects.filter(user_id=obj.pk).only("pk").first() if obj.pk else None
        if membership is None:
            return _("No membership")
        url = reverse("admin:members_membership_change", args=[membership.pk])
        return format_html('<a href="{}">{}</a>', url, _("Membership, terms, orders and emails"))

    @admin.display(description=_("password"))
    def password_status(self, obj):
        if obj.pk is None:
            return "—"
        state = _("set") if obj.has_usable_password() else _("not set (sign-in by ORCID or disabled)")
        url = reverse("admin:auth_user_password_change", args=[obj.pk])
        return format_html('{} · <a href="{}">{}</a>', state, url, _("set a new password"))


# The latest emails a member was sent, on their page; the rest are one link away in the outbox.
SUMMARY_EMAILS = 10


class MemberSummaryMixin:
    """The panel on top of a member's page, which is their membership's: the person, the membership and the
    latest emails, above the terms, orders and reminders (its inlines). For MembershipAdmin, whose queryset
    annotates status, band, type and end (membership_admin_queryset)."""

    @admin.display(description=_("summary"))
    def member_summary(self, membership):
        user = membership.user
        emails_url = f"{reverse('admin:society_outgoingemail_changelist')}?{urlencode({'q': user.email})}"
        return render_to_string(
            "admin/members/membership/_summary.html",
            {
                "membership": membership,
                "member": user,
                "status": MembershipStatus(membership.status) if membership.status else None,
                "band": IncomeBand(membership.band).label if membership.band else None,
                "emails": OutgoingEmail.objects.addressed_to(user.email)[:SUMMARY_EMAILS],
                "emails_url": emails_url,
            },
        )
