"""Staff powers: the one predicate every staff check of every app goes through.

The staff flag alone grants nothing. A password can be phished, guessed or reused elsewhere, and order numbers
are sequential, so a staff password alone would open every member's invoice and every draft. Staff powers (the
admin, other members' orders, draft previews, comparisons against drafts) start only once the staff member has
passed two-factor authentication in this session; until then they are a plain member.
"""

from functools import wraps

from allauth.account.authentication import get_authentication_records
from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.models import Authenticator
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied


def is_staff_account(user) -> bool:
    """An account that would have staff powers once it has passed MFA."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.is_staff)


def mfa_passed(request) -> bool:
    """Has this session passed a second factor? allauth records each step of a login in the session
    (password, then "mfa" once a TOTP or recovery code was accepted, also on re-authentication)."""
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False) or not hasattr(request, "session"):
        return False
    return any(record.get("method") == "mfa" for record in get_authentication_records(request, user))


def has_staff_powers(request, perm: str | None = None) -> bool:
    """Staff who passed MFA in this session (and hold `perm`, when given). Everyone else is a plain member."""
    if not is_staff_account(request.user) or not mfa_passed(request):
        return False
    return perm is None or request.user.has_perm(perm)


def staff_required(view=None, *, perm: str | None = None):
    """A view only staff with powers open: visitors are sent to log in, everyone else (members, and staff who
    have not passed MFA in this session) gets the 403 page."""

    def decorator(view_func):
        @wraps(view_func)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_staff_powers(request, perm):
                raise PermissionDenied
            return view_func(request, *args, **kwargs)

        return wrapper

    return decorator(view) if view is not None else decorator


def record_mfa_on_activation(sender, request, user, authenticator, **kwargs):
    """Receiver of allauth's authenticator_added. Activating an authenticator app means typing a valid code from
    it, in this session: that is a passed second factor, so staff are not asked for a second code at once.
    (An intruder holding only the password could activate their own app either way; allauth emails the owner.)"""
    if authenticator.type == Authenticator.Type.RECOVERY_CODES:
        return
    record_authentication(request, user, "mfa", id=authenticator.pk, type=authenticator.type, activated=True)
