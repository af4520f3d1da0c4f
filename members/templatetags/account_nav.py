"""The "Account" sub-navigation of the account pages (profile, email, password, two-factor, sign-ins, data)."""

from django import template
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

register = template.Library()

# (label, URL name, the URL names for which this entry is the current page). allauth's MFA pages all count as
# "Two-factor authentication" except its re-authentication steps, which belong to no single entry.
ACCOUNT_NAV = (
    (_("Profile"), "members:profile", {"members:profile"}),
    (_("Email addresses"), "account_email", {"account_email"}),
    (_("Password"), "account_change_password", {"account_change_password", "account_set_password"}),
    (
        _("Two-factor authentication"),
        "mfa_index",
        {
            "mfa_index",
            "mfa_activate_totp",
            "mfa_deactivate_totp",
            "mfa_view_recovery_codes",
            "mfa_generate_recovery_codes",
            "mfa_download_recovery_codes",
            "mfa_list_webauthn",
            "mfa_add_webauthn",
            "mfa_edit_webauthn",
            "mfa_remove_webauthn",
        },
    ),
    (_("ORCID and other sign-ins"), "socialaccount_connections", {"socialaccount_connections"}),
    (_("Delete account"), "members:profile-delete", {"members:profile-delete"}),
)


@register.inclusion_tag("includes/_account_nav.html", takes_context=True)
def account_nav(context):
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    current = match.view_name if match else ""
    return {
        "items": [
            {"label": label, "url": reverse(url_name), "current": current in names}
            for label, url_name, names in ACCOUNT_NAV
        ],
        # The export is a file download, never a page of its own, so it is a plain link with no current state.
        "export_url": reverse("members:profile-export"),
    }
