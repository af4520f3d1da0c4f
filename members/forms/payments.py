from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import LazyTypedChoiceField

from members.forms.accounts import FULL_NAME_MAX_LENGTH, PersonNameField, QuickSelect, blank_and_countries
from members.forms.memberships import ReasonForm
from members.models import MembershipType, Payment, PaymentMethod, User
from members.models.payments import OFFICE_METHODS
from members.services.accounts import MSG_COUNTRY_REQUIRED
from members.services.ledger import MSG_PAYMENT_FUTURE


class RefundForm(ReasonForm):
    """Why the order is refunded; shown in its history and on the voided term."""


class PaymentReceivedForm(forms.Form):
    """When and how the money arrived: what an accountant needs to match it against the bank statement."""

    received_on = forms.DateField(
        label=_("Date received"), widget=forms.DateInput(attrs={"type": "date"}), initial=timezone.localdate
    )
    method = forms.ChoiceField(label=_("Method"), choices=OFFICE_METHODS, initial=PaymentMethod.BANK_TRANSFER)
    reference = forms.CharField(
        label=_("Reference"),
        max_length=Payment._meta.get_field("reference").max_length,
        required=False,
        help_text=_("The bank's transaction reference, the cheque number or the receipt number of the terminal."),
    )
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_received_on(self):
        received_on = self.cleaned_data["received_on"]
        if received_on > timezone.localdate():
            raise ValidationError(MSG_PAYMENT_FUTURE, code="future")
        return received_on


class PaymentForm(PaymentReceivedForm):
    """One payment for one order: the amount may be part of what is due; several parts add up."""

    field_order = ["amount", "received_on", "method", "reference", "note"]

    amount = forms.DecimalField(label=_("Amount received"), max_digits=10, decimal_places=2, min_value=Decimal("0.01"))


class OfficeOrderForm(forms.Form):
    """An order staff take by phone or at the desk; the name and country are only needed for someone new."""

    email = forms.EmailField(label=_("Member's email address"), max_length=User._meta.get_field("email").max_length)
    full_name = PersonNameField(
        label=_("Full name"),
        max_length=FULL_NAME_MAX_LENGTH,
        required=False,
        help_text=_("Only for someone who has no account yet: the account is opened with the order."),
    )
    country = LazyTypedChoiceField(label=_("Country"), choices=blank_and_countries, required=False, widget=QuickSelect)
    membership_type = forms.ModelChoiceField(
        label=_("Membership type"), queryset=MembershipType.objects.filter(is_active=True, is_purchasable=True)
    )
    amount = forms.DecimalField(
        label=_("Price"),
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        help_text=_("Leave empty for the price list's price for the member's band."),
    )
    price_reason = forms.CharField(
        label=_("Reason for a different price"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    send_invoice = forms.BooleanField(label=_("Email the invoice to the member"), required=False, initial=True)

    def clean(self):
        data = super().clean()
        email = data.get("email")
        if email and not User.objects.filter(email__iexact=email).exists():
            if not data.get("full_name"):
                self.add_error("full_name", _("There is no account with this email address: enter the name."))
            if not data.get("country"):
                self.add_error("country", MSG_COUNTRY_REQUIRED)
        return data


class AccountingExportForm(forms.Form):
    """A period for the accountant, and which table to download (or all of them as one workbook)."""

    TABLES = [
        ("xlsx", _("All tables, one workbook (.xlsx)")),
        ("payments", _("Payments received (.csv)")),
        ("refunds", _("Refunds (.csv)")),
        ("orders", _("Orders created (.csv)")),
        ("totals", _("Totals by method, band and type (.csv)")),
    ]

    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To (inclusive)"), widget=forms.DateInput(attrs={"type": "date"}))
    table = forms.ChoiceField(label=_("Download"), choices=TABLES, initial="xlsx")

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise ValidationError(_("The period must start before it ends."), code="period")
        if start and end and (end - start).days > 3660:
            raise ValidationError(_("Choose a period of ten years at most."), code="period")
        return data


class CardRefundForm(forms.Form):
    """A refund through Stripe: how much (all or part of what is left) and why. `request_key` names this one
    request, so a double submit reaches Stripe with the same idempotency key and refunds once."""

    amount = forms.DecimalField(label=_("Amount to refund"), max_digits=10, decimal_places=2, min_value=Decimal("0.01"))
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))
    request_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, refundable: Decimal, **kwargs):
        super().__init__(*args, **kwargs)
        self.refundable = refundable

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount > self.refundable:
            raise ValidationError(
                _("At most %(refundable)s can be refunded."), code="amount", params={"refundable": self.refundable}
            )
        return amount


class OfficeRefundForm(CardRefundForm):
    """Money the office returned itself (a bank transfer back, cash): when, how and the bank's reference."""

    refunded_on = forms.DateField(
        label=_("Date refunded"), widget=forms.DateInput(attrs={"type": "date"}), initial=timezone.localdate
    )
    method = forms.ChoiceField(label=_("Method"), choices=OFFICE_METHODS, initial=PaymentMethod.BANK_TRANSFER)
    reference = forms.CharField(
        label=_("Reference"), max_length=Payment._meta.get_field("reference").max_length, required=False
    )
