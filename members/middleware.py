from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _


class StaffAdminGateMiddleware:
    """Guard the Django admin: staff need two-factor authentication before any admin page opens.

    Admin login itself goes through allauth (society/urls.py wraps admin.site.login), so passwords are
    rate-limited and MFA is asked for like everywhere else.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        admin_prefix = reverse("admin:index")
        user = getattr(request, "user", None)
        is_staff = user is not None and user.is_authenticated and user.is_staff
        if is_staff and request.path.startswith(admin_prefix) and not is_mfa_enabled(user):
            messages.warning(request, _("Staff accounts need two-factor authentication. Set it up to open the admin."))
            return redirect("mfa_activate_totp")
        return self.get_response(request)
