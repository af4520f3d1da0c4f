from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext as _

from members.services.renew_links import AUTH_METHOD
from society.access import has_staff_powers, is_staff_account

# What a session signed in by a renew link may open: renewing, paying, the order and its receipt, signing out,
# and the membership page (where Stripe sends a member who leaves its checkout page).
RENEW_ONLY_VIEWS = frozenset(
    {
        "members:home",
        "members:renew",
        "members:join",
        "members:order",
        "members:order-pay",
        "members:renew-link",
        "members:renew-link-request",
        "account_logout",
        "set_language",
        "language-switch",
    }
)


def signed_in_by_renew_link(request) -> bool:
    """The session's first factor was a renew link (a later MFA step does not widen it)."""
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False):
        return False
    first_factors = [r for r in get_authentication_records(request, user) if r.get("method") != "mfa"]
    return bool(first_factors) and first_factors[-1].get("method") == AUTH_METHOD


class StaffAdminGateMiddleware:
    """Show staff the way into the Django admin: set up two-factor authentication, or pass it in this session.

    Admin login itself goes through allauth (society/urls.py wraps admin.site.login), so passwords are
    rate-limited and MFA is asked for like everywhere else. What staff may do is decided by
    society.access.has_staff_powers alone (the admin site asks it too); this only turns the refusal into a
    redirect to the step that is missing.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if request.path.startswith(reverse("admin:index")) and is_staff_account(user) and not has_staff_powers(request):
            if not is_mfa_enabled(user):
                messages.warning(
                    request, _("Staff accounts need two-factor authentication. Set it up to open the admin.")
                )
                return redirect("mfa_activate_totp")
            # Signed in with a password only (e.g. before the authenticator was set up): ask for a code.
            messages.info(request, _("Enter a code from your authenticator app to open the admin."))
            return redirect_to_login(request.get_full_path(), login_url=reverse("mfa_reauthenticate"))
        return self.get_response(request)


class RenewOnlyMiddleware:
    """A session opened by a renew link is for renewing only. Any other page signs it out and asks for a
    normal login, so a forwarded reminder cannot open the profile, the directory or personal data."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if signed_in_by_renew_link(request) and not self._allowed(request):
            logout(request)
            messages.info(request, _("To open this page, please sign in with your password."))
            return redirect_to_login(request.get_full_path())
        return self.get_response(request)

    @staticmethod
    def _allowed(request) -> bool:
        if request.path_info.startswith(("/static/", "/media/")):
            return True
        try:
            return resolve(request.path_info).view_name in RENEW_ONLY_VIEWS
        except Resolver404:
            return True  # the 404 page shows nothing personal
