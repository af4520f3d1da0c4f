from django import forms
from django.utils.translation import gettext_lazy as _

from members.models import User


class PreviewForm(forms.Form):
    """Which member a reminder rule is previewed for, in their language and with their price."""

    member = forms.ModelChoiceField(
        queryset=User.objects.filter(membership__terms__isnull=False).distinct().order_by("email"),
        label=_("Member"),
        widget=forms.NumberInput,
        help_text=_("The member's user id."),
    )
