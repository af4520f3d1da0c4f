"""The member's own account pages (profile, export, erasure) and the member directory."""

import copy
import json

from allauth.account.decorators import reauthentication_required, verified_email_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.generic import FormView, ListView, View
from django_countries import countries

from members.forms.accounts import AccountDeleteForm, ProfileForm, QuickSelect
from members.selectors.access import request_member_access
from members.selectors.directory import SearchPaginator, directory_people
from members.services.accounts import user_erase, user_export_data, user_language_set, user_profile_update

DIRECTORY_PAGE_SIZE = 25
SEARCH_MAX_LENGTH = 200


@method_decorator(verified_email_required, name="dispatch")
class ProfileView(FormView):
    template_name = "members/profile.html"
    form_class = ProfileForm

    def get_form_kwargs(self):
        # A copy: an invalid form must not leave its values on request.user for the rest of the page. The
        # user was just loaded by the authentication middleware, so copying saves a query per page view.
        return {**super().get_form_kwargs(), "instance": copy.copy(self.request.user)}

    def form_valid(self, form):
        user_profile_update(user=self.request.user, data=form.cleaned_data)
        messages.success(self.request, _("Your profile has been saved."))
        return redirect("members:profile")


@method_decorator(verified_email_required, name="dispatch")
@method_decorator(reauthentication_required, name="dispatch")
class ProfileExportView(View):
    def get(self, request):
        data = user_export_data(user=request.user)
        response = HttpResponse(
            json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8"
        )
        filename = f"personal-data-{timezone.localdate().isoformat()}.json"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "no-store"
        return response


@method_decorator(verified_email_required, name="dispatch")
@method_decorator(reauthentication_required, name="dispatch")
class ProfileDeleteView(FormView):
    template_name = "members/profile_delete.html"
    form_class = AccountDeleteForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        try:
            user_erase(user=self.request.user)
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        logout(self.request)
        messages.success(self.request, _("Your account and personal data have been erased."))
        return redirect("home")


def all_and_countries():
    # A function, not a list: QuickSelect keeps the options' markup per language under it, so the 250 names
    # are neither sorted nor escaped again for every page.
    return [("", _("All countries")), *countries]


@method_decorator(verified_email_required, name="dispatch")
class DirectoryView(ListView):
    template_name = "members/directory.html"
    paginate_by = DIRECTORY_PAGE_SIZE
    context_object_name = "people"

    def dispatch(self, request, *args, **kwargs):
        if not request_member_access(request):
            # A page in the layout explaining how to get access, not a bare 403.
            return render(request, "members/directory_closed.html", status=403)
        return super().dispatch(request, *args, **kwargs)

    def get_paginator(self, queryset, per_page, **kwargs):
        if self.request.GET.get("q", "").strip():
            return SearchPaginator(queryset, per_page, **kwargs)
        return super().get_paginator(queryset, per_page, **kwargs)

    def get_queryset(self):
        # The reader's ICU collation sorts "Åsa" beside "Asa" (or after "Z" in Swedish-like orders) and groups
        # scripts, instead of ordering by code point.
        return directory_people(
            query=self.request.GET.get("q", "")[:SEARCH_MAX_LENGTH],
            country=self.request.GET.get("country", ""),
            language=translation.get_language(),
        )

    def get_context_data(self, **kwargs):
        query = self.request.GET.copy()
        query.pop("page", None)
        return super().get_context_data(
            query=self.request.GET.get("q", ""),
            country=self.request.GET.get("country", ""),
            # Written by QuickSelect, whose options are kept per language: a template loop over 250 countries
            # was a third of the directory's render.
            country_select=QuickSelect(attrs={"id": "directory-country"}, choices=all_and_countries).render(
                "country", self.request.GET.get("country", "")
            ),
            querystring=query.urlencode(),
            **kwargs,
        )


def language_switch(request, code: str):
    """The footer's language link on pages without a language in the URL: remember the choice (the cookie, and
    a signed-in member's profile, which their emails follow) and go back to the page. A plain link, so it also
    works without JavaScript or a form; the worst a forged link can do is change someone's language."""
    if code not in dict(settings.LANGUAGES):
        raise Http404
    next_url = request.GET.get("next", "/")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=False):
        next_url = "/"
    if request.user.is_authenticated:
        user_language_set(user=request.user, language=code)
    response = redirect(next_url)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
    )
    return response
