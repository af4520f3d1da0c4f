"""The country lists are written without a template per option, and say exactly what Django's Select says."""

import re

import pytest
from django import forms
from django.utils import translation

from members.forms.accounts import ProfileForm, QuickSelect, blank_and_countries
from tests.factories import UserFactory

OPTION = re.compile(r'<option value="([^"]*)"( selected)?>([^<]*)</option>')


def select_attributes(html):
    tag = re.match(r"<select([^>]*)>", html.strip()).group(1)
    return sorted(re.findall(r'([\w-]+)(?:="([^"]*)")?', tag))


@pytest.mark.parametrize("value", ["", "DE", None])
def test_the_options_and_attributes_match_djangos_select(value):
    choices = blank_and_countries()
    attrs = {"id": "id_country", "required": True, "aria-describedby": "id_country_helptext"}
    ours = QuickSelect(choices=choices).render("country", value, attrs)
    # Django's forms render through Jinja2 here (society/forms.py), which writes ' as &#39; where Python's escape
    # writes &#x27;: the same character.
    django = forms.Select(choices=choices).render("country", value, attrs).replace("&#39;", "&#x27;")
    assert OPTION.findall(ours) == OPTION.findall(django)
    assert len(OPTION.findall(ours)) > 240
    assert select_attributes(ours) == select_attributes(django)
    assert 'aria-describedby="id_country_helptext"' in ours


@pytest.mark.django_db
def test_the_profile_form_marks_the_members_country_in_their_language():
    user = UserFactory(country="JP")
    with translation.override("de"):
        html = str(ProfileForm(instance=user)["country"])
    assert '<option value="JP" selected>Japan</option>' in html
    assert '<option value="DE">Deutschland</option>' in html
    assert html.count(" selected") == 1


def test_the_kept_options_mark_each_renders_own_value_and_follow_the_language():
    choices = blank_and_countries()
    first = QuickSelect(choices=choices).render("country", "DE", {})
    second = QuickSelect(choices=choices).render("country", "FR", {})
    assert [value for value, selected, _label in OPTION.findall(first) if selected] == ["DE"]
    assert [value for value, selected, _label in OPTION.findall(second) if selected] == ["FR"]
    with translation.override("de"):
        german = QuickSelect(choices=blank_and_countries()).render("country", "DE", {})
    assert '<option value="DE" selected>Deutschland</option>' in german
    assert '<option value="DE" selected>Germany</option>' in QuickSelect(choices=choices).render("country", "DE", {})
