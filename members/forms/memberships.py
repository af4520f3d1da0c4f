from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from members.models import MembershipType, PaymentProvider
from members.models.memberships import TERM_YEARS


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

    def __init__(self, *args, quotes, card_enabled: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.quotes = {quote.membership_type.pk: quote for quote in quotes}
        self.fields["membership_type"].queryset = MembershipType.objects.filter(pk__in=self.quotes)
        choices = [(PaymentProvider.INVOICE.value, _("Invoice and bank transfer"))]
        if card_enabled:
            choices.insert(0, (PaymentProvider.STRIPE.value, _("Card, now (secure payment page by Stripe)")))
        self.fields["provider"].choices = choices
        self.fields["provider"].initial = choices[0][0]
        # Only the lengths some type is offered in; with 1 year alone the question is not asked.
        offered = sorted({years for quote in quotes for years in quote.term_prices})
        self.fields["years"].choices = [c for c in self.fields["years"].choices if c[0] in offered]
        self.offers_years = len(offered) > 1


class ReasonForm(forms.Form):
    """Intermediate admin form: the reason staff must give for a comp or a cancellation."""

    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


class CompForm(ReasonForm):
    membership_type = forms.ModelChoiceField(label=_("Membership type"), queryset=MembershipType.objects.all())
