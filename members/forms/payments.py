from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.forms.memberships import ReasonForm
from members.models import Payment, PaymentMethod
from members.models.payments import OFFICE_METHODS
from members.services.payments import MSG_PAYMENT_FUTURE


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
