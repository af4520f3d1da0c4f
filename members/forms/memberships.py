from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from members.models import MembershipType, PaymentProvider, User
from members.models.memberships import TERM_YEARS
from members.services.accounts import BILLING_FIELDS

# The provider choice "pay with the card saved for auto-renew"; the order itself is a card (Stripe) order.
SAVED_CARD = "saved_card"


class MembershipTypeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class OrderForm(forms.Form):
    """Choose a membership type (priced for the member's band) and how to pay."""

    membership_type = MembershipTypeChoiceField(
        label=_("Membership type"), queryset=MembershipType.objects.none(), widget=forms.RadioSelect, empty_label=None
    )
    statement = forms.CharField(
        label=_("How you meet the eligibility"),
        help_text=_("Only for types the office approves, such as Student: for example your programme and university."),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    years = forms.TypedChoiceField(
        label=_("For how long?"),
        coerce=int,
        choices=[
            (years, ngettext_lazy("%(years)d year", "%(years)d years", years) % {"years": years})
            for years in TERM_YEARS
        ],
        initial=1,
        required=False,
        widget=forms.RadioSelect,
    )
    provider = forms.ChoiceField(label=_("How would you like to pay?"), widget=forms.RadioSelect)
    auto_renew = forms.BooleanField(
        label=_("Renew automatically with this card"),
        help_text=_("We email you at least 14 days before each charge. You can turn it off at any time."),
        required=False,
    )
    # Who the invoice and receipt are made out to; saved on the profile too. Empty name: the member's full name.
    billing_name = forms.CharField(
        label=_("Name on the invoice"), max_length=User._meta.get_field("billing_name").max_length, required=False
    )
    billing_institution = forms.CharField(
        label=_("Institution to invoice"),
        max_length=User._meta.get_field("billing_institution").max_length,
        required=False,
    )
    billing_address = forms.CharField(
        label=_("Billing address"),
        max_length=User._meta.get_field("billing_address").max_length,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    billing_tax_id = forms.CharField(
        label=_("VAT or tax id"), max_length=User._meta.get_field("billing_tax_id").max_length, required=False
    )

    def billing(self) -> dict[str, str]:
        # Only fields the request carried: a client that leaves them out does not wipe the profile's.
        return {name: self.cleaned_data[name] for name in BILLING_FIELDS if name in self.data}

    def billing_fields(self):
        return [self[name] for name in BILLING_FIELDS]

    def __init__(self, *args, quotes, card_enabled: bool, saved_card=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.quotes = {quote.membership_type.pk: quote for quote in quotes}
        self.fields["membership_type"].queryset = MembershipType.objects.filter(pk__in=self.quotes)
        choices = [(PaymentProvider.INVOICE.value, _("Invoice and bank transfer"))]
        if card_enabled:
            choices.insert(0, (PaymentProvider.STRIPE.value, _("Card, now (secure payment page by Stripe)")))
        if card_enabled and saved_card is not None:
            # First, so a renewing member with a saved card pays in one click.
            label = _("Your saved card: %(brand)s ending in %(last4)s, expires %(month)02d/%(year)s") % {
                "brand": saved_card.card_brand.title(),
                "last4": saved_card.card_last4,
                "month": saved_card.card_exp_month or 0,
                "year": saved_card.card_exp_year or "",
            }
            choices.insert(0, (SAVED_CARD, label))
        self.fields["provider"].choices = choices
        self.fields["provider"].initial = choices[0][0]
        if not card_enabled:
            del self.fields["auto_renew"]
        # Only the lengths some type is offered in; with 1 year alone the question is not asked.
        offered = sorted({years for quote in quotes for years in quote.term_prices})
        self.fields["years"].choices = [c for c in self.fields["years"].choices if c[0] in offered]
        self.offers_years = len(offered) > 1


class ReasonForm(forms.Form):
    """Intermediate admin form: the reason staff must give for a comp or a cancellation."""

    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


class CompForm(ReasonForm):
    membership_type = forms.ModelChoiceField(label=_("Membership type"), queryset=MembershipType.objects.all())
