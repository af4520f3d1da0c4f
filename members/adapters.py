"""allauth's adapters: account emails go through the outbox, sign-up fills the name and country in one save,
and ORCID sign-in fills the member's name and ORCID iD. Also allauth's account forms in the site's voice."""

from allauth.account import forms as allauth_forms
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.core import context as allauth_context
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.contrib.sites.shortcuts import get_current_site
from django.http import Http404
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.models import User
from members.services.accounts import user_orcid_link, user_signup_populate
from members.validators import orcid_checksum_ok, orcid_normalise
from society.services.mail import email_enqueue


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        """Fill the sign-up form's name and country before allauth's one save of the new user.

        Both the email sign-up form and ORCID's sign-up form come through here (the social adapter's save_user
        calls it with commit=True, then saves the social account), so the user row is inserted complete and
        simple_history writes exactly one row for it.
        """
        data = form.cleaned_data
        if "full_name" in data and "country" in data:
            user_signup_populate(user=user, full_name=data["full_name"], country=data["country"])
        return super().save_user(request, user, form, commit=commit)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Render allauth's message as usual, then hand it to the outbox instead of sending it inline:
        it is delivered after the surrounding transaction commits, retried, and visible in admin.

        Rendered in the recipient's saved language whoever triggers it (a staff member, another device); an
        address without an account (enumeration-safe "unknown account" emails) gets the page's language."""
        request = allauth_context.request
        ctx = {"request": request, "email": email, "current_site": get_current_site(request)}
        ctx.update(context)
        recipient = ctx.get("user") or User.objects.filter(email__iexact=email).only("language").first()
        language = getattr(recipient, "language", "") or translation.get_language()
        with translation.override(language):
            message = self.render_mail(template_prefix, email, ctx)
        html = next(
            (content for content, mimetype in getattr(message, "alternatives", []) if mimetype == "text/html"), None
        )
        if message.content_subtype == "html":  # allauth found only an HTML template
            html = message.body
        email_enqueue(
            to=email,
            subject=message.subject,
            text=message.body,
            html=html,
            kind="account",
            related_key=template_prefix.rsplit("/", 1)[-1][:100],
        )


ORCID_PROVIDER = "orcid"


def orcid_from_sociallogin(sociallogin) -> str:
    """The ORCID iD the provider vouched for, normalised, or "" if it is not a well-formed iD."""
    if sociallogin.account.provider != ORCID_PROVIDER:
        return ""
    orcid = orcid_normalise(sociallogin.account.uid)
    return orcid if len(orcid) == 19 and orcid_checksum_ok(orcid) else ""


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_app(self, request, provider, client_id=None):
        """allauth mounts /accounts/orcid/login/ and its callback whether or not the society has an ORCID client
        (ORCID_CLIENT_ID and ORCID_SECRET, or a SocialApp row); without one those pages do not exist: 404, not
        allauth's SocialApp.DoesNotExist as a 500."""
        try:
            return super().get_app(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist:
            raise Http404(_("Sign-in with %(provider)s is not available.") % {"provider": provider}) from None

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        # ORCID gives names as given-names + family-name; we keep one full name (and the member can edit it).
        full_name = " ".join(part for part in (data.get("first_name"), data.get("last_name")) if part)
        if full_name and not user.full_name:
            user.full_name = full_name[:200]
        return user

    def get_signup_form_initial_data(self, sociallogin):
        initial = super().get_signup_form_initial_data(sociallogin)
        initial["full_name"] = sociallogin.user.full_name
        return initial

    def save_user(self, request, sociallogin, form=None):
        """allauth's save_user, except that the user is saved once, by sociallogin.save().

        allauth's own version lets the account adapter save the user and then saves it again in
        sociallogin.save(): two history rows, the first before the social account exists. Here the account
        adapter only fills the instance (email, name, country: commit=False).
        """
        user = sociallogin.user
        user.set_unusable_password()
        # Signing up with ORCID proves the iD: store it with the new account (unless another account holds it,
        # which staff settle by hand).
        orcid = orcid_from_sociallogin(sociallogin)
        if orcid and not User.objects.filter(orcid=orcid).exists():
            user.orcid = orcid
        account_adapter = get_account_adapter()
        if form:
            account_adapter.save_user(request, user, form, commit=False)
        else:
            account_adapter.populate_username(request, user)
        sociallogin.save(request)
        return user


def on_social_account_added(sender, request, sociallogin, **kwargs):
    """Connecting ORCID to an existing account (allauth's social_account_added signal) fills `orcid`."""
    orcid = orcid_from_sociallogin(sociallogin)
    if orcid:
        user_orcid_link(user=sociallogin.user, orcid=orcid)


# allauth's account forms in the site's voice (named in ACCOUNT_FORMS): labels in sentence case, and no
# placeholder repeating the label (it vanishes as one types, and reads as a filled field to some users). Here and
# not in members/forms/accounts.py, which allauth.account.forms imports while it loads (SignupForm).
NEW_PASSWORD_LABELS = {"password1": gettext_lazy("New password"), "password2": gettext_lazy("New password (again)")}


class SiteVoiceMixin:
    # allauth's Title Case labels replaced, by field name; other fields keep allauth's label and translations.
    labels: dict = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.widget.attrs.pop("placeholder", None)
            if name in self.labels:
                field.label = self.labels[name]


class LoginForm(SiteVoiceMixin, allauth_forms.LoginForm):
    labels = {"remember": gettext_lazy("Remember me")}


class SignupForm(SiteVoiceMixin, allauth_forms.SignupForm):
    pass


class AddEmailForm(SiteVoiceMixin, allauth_forms.AddEmailForm):
    pass


class ChangePasswordForm(SiteVoiceMixin, allauth_forms.ChangePasswordForm):
    labels = {"oldpassword": gettext_lazy("Current password"), **NEW_PASSWORD_LABELS}


class SetPasswordForm(SiteVoiceMixin, allauth_forms.SetPasswordForm):
    labels = NEW_PASSWORD_LABELS


class ResetPasswordForm(SiteVoiceMixin, allauth_forms.ResetPasswordForm):
    pass


class ResetPasswordKeyForm(SiteVoiceMixin, allauth_forms.ResetPasswordKeyForm):
    labels = NEW_PASSWORD_LABELS


class ReauthenticateForm(SiteVoiceMixin, allauth_forms.ReauthenticateForm):
    pass
