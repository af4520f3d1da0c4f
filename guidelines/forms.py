from django import forms
from django.utils.translation import gettext_lazy as _


class AlertFollowForm(forms.Form):
    email = forms.EmailField(label=_("Your email address"), max_length=254)
