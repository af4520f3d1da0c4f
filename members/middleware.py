from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from society.access import has_staff_powers, is_staff_account


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
