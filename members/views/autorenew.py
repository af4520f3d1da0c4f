"""Auto-renew on /membership/: turn it on or off, add or replace the card; and the one-click "turn off"
link from the notice email, which works without signing in (GET asks, POST does it)."""

from allauth.account.decorators import verified_email_required
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.generic import View

from members.models import Membership
from members.services import autorenew as autorenew_service
from members.services import stripe as stripe_payments


@method_decorator(verified_email_required, name="dispatch")
class AutoRenewToggleView(View):
    """POST enabled=on|off. Turning it on without a saved card goes to Stripe to add one."""

    def post(self, request):
        membership = Membership.objects.filter(user=request.user).first()
        if membership is None:
            raise Http404
        enabled = request.POST.get("enabled") == "on"
        try:
            autorenew_service.autorenew_set(membership=membership, enabled=enabled)
        except ValidationError as error:
            if error.code == "no_card" and stripe_payments.is_enabled():
                return _to_card_setup(request, membership)
            messages.error(request, error.messages[0])
            return redirect("members:home")
        if enabled:
            messages.success(request, _("Auto-renew is on. We will email you at least 14 days before any charge."))
        else:
            messages.success(request, _("Auto-renew is off. Your card will not be charged."))
        return redirect("members:home")


@method_decorator(verified_email_required, name="dispatch")
class AutoRenewCardView(View):
    """GET (the link in an email) shows the button; POST goes to Stripe to add or replace the card."""

    def get(self, request):
        return redirect("members:home")

    def post(self, request):
        membership = Membership.objects.filter(user=request.user).first()
        if membership is None or not stripe_payments.is_enabled():
            raise Http404
        return _to_card_setup(request, membership)


def _to_card_setup(request, membership):
    try:
        return redirect(autorenew_service.card_setup_session_url(membership=membership, request=request))
    except stripe_payments.CheckoutUnavailable:
        messages.error(request, _("The card payment service is not answering. Please try again later."))
        return redirect("members:home")


class AutoRenewOffView(View):
    """The signed link in the notice: a confirmation page, then one POST turns auto-renew off."""

    template_name = "members/autorenew_off.html"

    def get(self, request, token):
        membership = autorenew_service.off_link_membership(token=token)
        row = autorenew_service.membership_autorenew(membership=membership) if membership else None
        return render(
            request,
            self.template_name,
            {"valid": membership is not None, "enabled": bool(row and row.enabled), "done": False},
            status=200 if membership else 400,
        )

    def post(self, request, token):
        membership = autorenew_service.off_link_membership(token=token)
        if membership is None:
            return render(request, self.template_name, {"valid": False}, status=400)
        autorenew_service.autorenew_set(membership=membership, enabled=False)
        return render(request, self.template_name, {"valid": True, "enabled": False, "done": True})
