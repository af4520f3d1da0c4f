"""The test client every test gets as `client`."""

from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.utils import is_mfa_enabled
from django import test
from django.http import HttpRequest


class Client(test.Client):
    """Django's test client whose force_login ends where a real login ends: allauth asks every user with an
    authenticator for a code, so such a session has passed MFA (which staff powers need, see society.access).
    `mfa=False` is a session signed in with the password only, e.g. from before the authenticator was set up."""

    def force_login(self, user, backend=None, *, mfa=None):
        super().force_login(user, backend)
        if mfa if mfa is not None else is_mfa_enabled(user):
            request = HttpRequest()
            request.session = self.session
            request.user = user
            record_authentication(request, user, "mfa", type="totp")
            request.session.save()
