"""The member's own membership page, and joining or renewing: choose a type and a way to pay."""

from allauth.account.decorators import verified_email_required
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.generic import FormView, TemplateView

from members.forms.memberships import SAVED_CARD, OrderForm
from members.models import (
    AutoRenew,
    Membership,
    MembershipStatus,
    MembershipType,
    Order,
    OrderStatus,
    PaymentProvider,
    Term,
)
from members.models.memberships import RENEWABLE_STATUSES, membership_status, society_today
from members.services import stripe as stripe_payments
from members.services.accounts import BILLING_FIELDS
from members.services.memberships import check_may_order, price_quote, renewal_opens_on
from members.services.payments import order_create
from members.services.renewal_schedule import card_expires_before


def _membership_of(user):
    membership = (
        Membership.objects.filter(user=user)
        .select_related("auto_renew")
        .prefetch_related(
            Prefetch("terms", queryset=Term.objects.select_related("membership_type", "order").order_by("-end")),
            Prefetch("orders", queryset=Order.objects.select_related("membership_type", "term")),
        )
        .first()
    )
    if membership is not None:
        # What with_status() would annotate, from the same columns through membership_status(), the definition it
        # mirrors: building its CASE expression took longer than the query it is part of.
        membership.last_end = membership.current_end
        membership.status = membership_status(
            today=society_today(),
            last_end=membership.current_end,
            cancelled=membership.cancelled_at is not None,
            lifetime=membership.lifetime,
        ).value
    return membership


@method_decorator(verified_email_required, name="dispatch")
class MembershipView(TemplateView):
    template_name = "members/membership.html"

    def get_context_data(self, **kwargs):
        membership = _membership_of(self.request.user)
        today = society_today()
        context = {"membership": membership, "today": today}
        if membership is not None:
            current = membership.current_term()
            status = MembershipStatus(membership.status)
            context.update(
                status=status,
                terms=list(membership.terms.all()),
                current=current,
                days_left=(current.end - today).days if current and current.end and current.end >= today else None,
                renew_open=status in RENEWABLE_STATUSES and not membership.lifetime,
                renew_opens_on=renewal_opens_on(last_end=current.end) if current and current.end else None,
                orders=list(membership.orders.all()),
                pending_orders=[o for o in membership.orders.all() if o.status == OrderStatus.PENDING],
                auto_renew=getattr(membership, "auto_renew", None),
                card_enabled=stripe_payments.is_enabled(),
            )
        return super().get_context_data(**context, **kwargs)


@method_decorator(verified_email_required, name="dispatch")
class JoinView(FormView):
    """Choose a type and a way to pay; one service call creates the order at today's frozen price."""

    template_name = "members/order_form.html"
    form_class = OrderForm
    renewing = False

    def dispatch(self, request, *args, **kwargs):
        self.membership = _membership_of(request.user)
        if not self.renewing and self.membership is not None and self.membership.status != MembershipStatus.PENDING:
            # A member (current, in grace or lapsed) renews: the renewal page says so and keeps their history.
            return redirect("members:renew")
        self.refusal = None
        try:
            check_may_order(membership=self.membership)
        except ValidationError as error:
            self.refusal = error.messages[0]
        return super().dispatch(request, *args, **kwargs)

    def get_quotes(self):
        quotes, self.quote_error = [], None
        for membership_type in MembershipType.objects.purchasable():
            try:
                quotes.append(price_quote(user=self.request.user, membership_type=membership_type))
            except ValidationError as error:
                self.quote_error = error.messages[0]
        return quotes

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        self.quotes = self.get_quotes()
        kwargs.update(quotes=self.quotes, card_enabled=stripe_payments.is_enabled(), saved_card=self.saved_card())
        user = self.request.user
        kwargs["initial"] = {**kwargs.get("initial", {}), **{name: getattr(user, name) for name in BILLING_FIELDS}}
        if self.membership is not None and self.membership.status != MembershipStatus.PENDING:
            current = self.membership.current_term()
            if current and current.membership_type_id in {q.membership_type.pk for q in self.quotes}:
                kwargs["initial"]["membership_type"] = current.membership_type_id
        return kwargs

    def saved_card(self):
        """The card saved for auto-renew, if it is still valid today: offered as a one-click way to pay."""
        if self.membership is None or self.membership.pk is None:
            return None
        card = AutoRenew.objects.filter(membership=self.membership).exclude(payment_method="").first()
        if card is None or card_expires_before(card, society_today()):
            return None
        return card

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["form"]
        context.update(
            membership=self.membership,
            renewing=self.renewing,
            refusal=self.refusal,
            quote_error=self.quote_error,
            quote=self.quotes[0] if self.quotes else None,
            options=[(radio, form.quotes[int(str(radio.data["value"]))]) for radio in form["membership_type"]],
            needs_statement=any(quote.membership_type.requires_approval for quote in self.quotes),
        )
        return context

    def post(self, request, *args, **kwargs):
        if self.refusal:
            return self.get(request, *args, **kwargs)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        saved_card = self.saved_card() if form.cleaned_data["provider"] == SAVED_CARD else None
        try:
            order = order_create(
                user=self.request.user,
                membership_type=form.cleaned_data["membership_type"],
                provider=PaymentProvider.STRIPE if saved_card else form.cleaned_data["provider"],
                statement=form.cleaned_data["statement"],
                billing=form.billing(),
                years=form.cleaned_data.get("years") or 1,
            )
        except ValidationError as error:
            field = {"statement_required": "statement", "no_term": "years"}.get(error.code)
            form.add_error(field, error)
            return self.form_invalid(form)
        if order.awaits_approval:
            messages.success(
                self.request,
                _("Thank you. The office reviews these applications and will email you when you can pay."),
            )
            return redirect(order)
        if saved_card is not None:
            try:
                if stripe_payments.order_pay_with_saved_card(order=order, card=saved_card):
                    messages.success(self.request, _("Thank you: your membership is renewed. Your receipt is below."))
                    return redirect(order)
            except stripe_payments.SavedCardDeclined:
                form.add_error(
                    "provider", _("Your saved card was declined. Please pay with another card or by invoice.")
                )
                return self.form_invalid(form)
            except stripe_payments.CheckoutUnavailable:
                form.add_error(
                    None, _("The card payment service is not answering. Please try again, or pay by invoice.")
                )
                return self.form_invalid(form)
            # The bank asks the member to confirm: Stripe's payment page does that.
        if order.provider == PaymentProvider.STRIPE:
            try:
                return redirect(
                    stripe_payments.checkout_session_url(
                        order=order, request=self.request, save_card=form.cleaned_data.get("auto_renew", False)
                    )
                )
            except stripe_payments.CheckoutUnavailable:
                form.add_error(
                    None, _("The card payment service is not answering. Please try again, or pay by invoice.")
                )
                return self.form_invalid(form)
        # order_create has written the invoice email to the outbox.
        messages.success(self.request, _("Your invoice is ready. We have also sent it to you by email."))
        return redirect(order)


class RenewView(JoinView):
    renewing = True

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not Membership.objects.filter(user=request.user).exists():
            return redirect("members:join")
        return super().dispatch(request, *args, **kwargs)
