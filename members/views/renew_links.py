"""The personal renew link from a reminder, and asking for a fresh one. Every refusal is a page, never a 500,
and shows nothing about the member the link was for."""

from allauth.account import app_settings as allauth_settings
from allauth.account.internal.flows.login import perform_login, record_authentication
from allauth.account.models import Login
from allauth.core import ratelimit
from django import forms
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views import View

from members.services.renew_links import (
    AUTH_METHOD,
    RenewLinkInvalid,
    may_use_renew_link,
    renew_link_consume,
    renew_link_email,
    renew_link_find,
)

TEMPLATE = "members/renew_link.html"
# The status of each refusal: a link that was fine once and is not any more is Gone.
REFUSAL_STATUS = {"tampered": 400, "expired": 410, "used": 410, "other_session": 400, "staff": 400}


class RenewLinkRequestForm(forms.Form):
    email = forms.EmailField(label=_("Your email address"), max_length=254)


def _refuse(request, reason: str):
    return render(request, TEMPLATE, {"reason": reason, "form": RenewLinkRequestForm()}, status=REFUSAL_STATUS[reason])


class RenewLinkView(View):
    """GET shows one button and consumes nothing, so a mail scanner that fetches links cannot use them up;
    the member's click (POST) uses the link and signs them in for renewal."""

    def _check(self, request, token):
        """(link, None) when the link may be used now, or (None, response)."""
        try:
            link = renew_link_find(token=token)
        except RenewLinkInvalid as error:
            return None, _refuse(request, error.code)
        if request.user.is_authenticated and request.user.pk != link.user_id:
            return None, _refuse(request, "other_session")
        if not may_use_renew_link(link.user):
            return None, _refuse(request, "staff")
        return link, None

    def get(self, request, token):
        link, refusal = self._check(request, token)
        if refusal:
            return refusal
        if request.user.is_authenticated:
            return redirect("members:renew")
        return render(request, TEMPLATE, {"reason": None})

    def post(self, request, token):
        link, refusal = self._check(request, token)
        if refusal:
            return refusal
        if request.user.is_authenticated:
            return redirect("members:renew")
        try:
            user = renew_link_consume(token=token)
        except RenewLinkInvalid as error:
            return _refuse(request, error.code)
        # The link stands in for the password only: allauth's stages still ask members who have an
        # authenticator for a code, and RenewOnlyMiddleware keeps the session to the renewal pages.
        record_authentication(request, user, AUTH_METHOD)
        login = Login(
            user=user,
            redirect_url=reverse("members:renew"),
            email_verification=allauth_settings.EmailVerificationMethod.NONE,
            email=user.email,
        )
        return perform_login(request, login)


class RenewLinkRequestView(View):
    """A fresh link by email. The answer is the same whether or not the address belongs to a member."""

    def post(self, request):
        form = RenewLinkRequestForm(request.POST)
        if not form.is_valid():
            return render(request, TEMPLATE, {"reason": "request", "form": form}, status=400)
        email = form.cleaned_data["email"].lower()
        if not ratelimit.consume(request, action="renew_link", key=email):
            return render(request, TEMPLATE, {"reason": "too_many", "form": form}, status=429)
        renew_link_email(email=email)
        return render(request, TEMPLATE, {"reason": "sent"})
