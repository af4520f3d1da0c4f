"""allauth's account forms in the site's voice: labels in sentence case and no placeholder repeating the label
(a placeholder vanishes as one types and reads as a filled field to some users). Named in ACCOUNT_FORMS."""

from allauth.account import forms as allauth_forms
from django.utils.translation import gettext_lazy as _

NEW_PASSWORD_LABELS = {"password1": _("New password"), "password2": _("New password (again)")}


class SiteVoiceMixin:
    # allauth's Title Case labels replaced, by field name; other fields keep allauth's label and translations.
    labels = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.widget.attrs.pop("placeholder", None)
            if name in self.labels:
                field.label = self.labels[name]


class LoginForm(SiteVoiceMixin, allauth_forms.LoginForm):
    labels = {"remember": _("Remember me")}


class SignupForm(SiteVoiceMixin, allauth_forms.SignupForm):
    pass


class AddEmailForm(SiteVoiceMixin, allauth_forms.AddEmailForm):
    pass


class ChangePasswordForm(SiteVoiceMixin, allauth_forms.ChangePasswordForm):
    labels = {"oldpassword": _("Current password"), **NEW_PASSWORD_LABELS}


class SetPasswordForm(SiteVoiceMixin, allauth_forms.SetPasswordForm):
    labels = NEW_PASSWORD_LABELS


class ResetPasswordForm(SiteVoiceMixin, allauth_forms.ResetPasswordForm):
    pass


class ResetPasswordKeyForm(SiteVoiceMixin, allauth_forms.ResetPasswordKeyForm):
    labels = NEW_PASSWORD_LABELS


class ReauthenticateForm(SiteVoiceMixin, allauth_forms.ReauthenticateForm):
    pass
