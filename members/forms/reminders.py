from django import forms
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from members.models import Term, User


def reminder_recipients():
    """Members a reminder rule can apply to, as reminders_due chooses them: an active account, a membership
    not cancelled, and a term that counts (a term voided by a refund gives nothing to remind about)."""
    return User.objects.filter(
        Exists(Term.objects.counting().filter(membership__user=OuterRef("pk"))),
        is_active=True,
        membership__cancelled_at__isnull=True,
    ).order_by("email")


class PreviewForm(forms.Form):
    """Which member a reminder rule is previewed for, in their language and with their price."""

    member = forms.ModelChoiceField(
        queryset=reminder_recipients(),
        label=_("Member"),
        widget=forms.NumberInput,
        help_text=_("The member's user id."),
        error_messages={
            "invalid_choice": _(
                "No member with this id has a current term, so no reminder applies: the member may not exist, "
                "their only terms may have been refunded or voided, or their membership may be cancelled."
            )
        },
    )
