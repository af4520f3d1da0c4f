"""Forms of the account area: sign-up fields added to allauth's forms, the profile, and account deletion.

This module is imported by allauth.account.forms (ACCOUNT_SIGNUP_FORM_CLASS) while that module loads,
so it must not import allauth's forms at the top level.
"""

from django import forms
from django.forms.utils import flatatt
from django.utils import translation
from django.utils.choices import BlankChoiceIterator, CallableChoiceIterator
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from django_countries.fields import LazyTypedChoiceField

from members.models import User
from members.services.accounts import PROFILE_FIELDS
from members.validators import orcid_normalise, person_name_normalise, validate_orcid, validate_person_name


def _choices_source(choices):
    """A hashable name for a lazily listed set of choices (the same function, behind the same blank choice),
    or None when the choices are a plain list."""
    if isinstance(choices, CallableChoiceIterator):
        return ("callable", choices.func)
    if isinstance(choices, BlankChoiceIterator):
        inner = _choices_source(choices.choices)
        if inner is not None:
            return ("blank", tuple((str(value), str(label)) for value, label in choices.blank_choice), inner)
    return None


class QuickSelect(forms.Select):
    """A select whose options are written in Python. Django renders every option through a template include,
    which for some 250 countries was three quarters of a profile page's render (30 of 40 ms).

    The options' markup is also kept per language and list of choices (one entry per language for the country
    lists): escaping 250 names was still 3 ms of every profile and checkout page; only `selected` differs."""

    _options_html: dict[tuple, str] = {}
    _first_choice_empty: dict[tuple, bool] = {}

    def use_required_attribute(self, initial):
        # Django's Select lists every choice to look at the first one; for a kept list, look once per language.
        source = _choices_source(self.choices)
        if source is None or self.allow_multiple_selected:
            return super().use_required_attribute(initial)
        key = (translation.get_language(), source)
        if key not in self._first_choice_empty:
            first = next(iter(self.choices), None)
            empty = first is not None and self._choice_has_empty_value(first)
            if len(self._first_choice_empty) < 64:
                self._first_choice_empty[key] = empty
        else:
            empty = self._first_choice_empty[key]
        return forms.Widget.use_required_attribute(self, initial) and empty

    def options_html(self, selected: set[str]) -> str:
        # Keyed by where the choices come from (the function that lists them) when that is known: listing 250
        # countries only to make the key cost as much as the markup it saved.
        source = _choices_source(self.choices)
        choices = None
        if source is None:
            choices = [(str(choice), str(label)) for choice, label in self.choices]
            source = tuple(choices)
        key = (translation.get_language(), source)
        options = self._options_html.get(key)
        if options is None:
            if choices is None:
                choices = [(str(choice), str(label)) for choice, label in self.choices]
            options = format_html_join("", '<option value="{}">{}</option>', choices)
            if len(self._options_html) < 64:  # a few lists in a few languages; never grows with traffic
                self._options_html[key] = options
        for value in selected:
            marker = format_html('<option value="{}">', value)
            options = options.replace(marker, marker[:-1] + " selected>", 1)
        return mark_safe(options)

    def render(self, name, value, attrs=None, renderer=None):
        options = self.options_html(set(self.format_value(value)))
        return format_html(
            '<select name="{}"{}>{}</select>', name, flatatt(self.build_attrs(self.attrs, attrs)), options
        )


def blank_and_countries():
    # A callable, so each form sorts the names in its request's language (pyuca, see requirements.txt);
    # a list built at import would keep the first language's order for every reader.
    return [("", "—"), *countries]


FULL_NAME_MAX_LENGTH = User._meta.get_field("full_name").max_length


class PersonNameField(forms.CharField):
    """A name in any script: NFC-normalised, whitespace collapsed, no markup characters."""

    default_validators = [validate_person_name]

    def to_python(self, value):
        return person_name_normalise(super().to_python(value))


class OrcidField(forms.CharField):
    """Accepts what members paste (https://orcid.org/… URL, spaces, lowercase x); stores 0000-0000-0000-000X."""

    default_validators = [validate_orcid]

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return orcid_normalise(value) if value else value


class SignupForm(forms.Form):
    """The fields allauth's sign-up forms (email and ORCID sign-up) add to email and password."""

    full_name = PersonNameField(
        label=_("Full name"),
        max_length=FULL_NAME_MAX_LENGTH,
        help_text=_("As you would like it to appear on certificates and in the directory, in any script."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    country = LazyTypedChoiceField(
        label=_("Country"),
        choices=blank_and_countries,
        help_text=_("Where you work. It sets your membership dues band."),
        widget=QuickSelect(attrs={"autocomplete": "country"}),
    )

    field_order = ["email", "full_name", "country", "password1", "password2"]

    def signup(self, request, user):
        """allauth requires this hook; there is nothing left to do here. The name and country are set in the
        account adapter's save_user, before allauth's single save of the new user (members/adapters.py)."""


class ProfileForm(forms.ModelForm):
    full_name = PersonNameField(label=_("Full name"), max_length=FULL_NAME_MAX_LENGTH)
    preferred_name = PersonNameField(
        label=_("Preferred name"),
        max_length=User._meta.get_field("preferred_name").max_length,
        required=False,
        help_text=User._meta.get_field("preferred_name").help_text,
    )
    orcid = OrcidField(
        label=_("ORCID iD"), help_text=_("For example 0000-0002-1825-0097 or https://orcid.org/0000-0002-1825-0097.")
    )

    class Meta:
        model = User
        fields = list(PROFILE_FIELDS)
        help_texts = {"country": _("Where you work. A change applies to your next dues payment.")}
        widgets = {"billing_address": forms.Textarea(attrs={"rows": 3}), "country": QuickSelect}


class AccountDeleteForm(forms.Form):
    confirmation = forms.CharField(
        label=_("Type your email address to confirm"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_confirmation(self):
        value = self.cleaned_data["confirmation"].strip()
        if value.lower() != self.user.email.lower():
            raise forms.ValidationError(_("This is not the email address of your account."), code="confirmation")
        return value
