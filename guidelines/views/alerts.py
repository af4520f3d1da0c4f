"""Following guidelines by email: the pages behind the "Follow" links of the public pages, the links in the
emails, and the member's own list. None of them is a cached public page (they live outside the language
prefix), so they may hold forms, CSRF tokens and addresses."""

from allauth.account.models import EmailAddress
from allauth.core import ratelimit
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from guidelines.forms import AlertFollowForm
from guidelines.models import AlertSubscription, Guideline, Provision
from guidelines.selectors import alert_subscriptions_listed
from guidelines.services.alerts import (
    AlertLinkInvalid,
    alert_confirm,
    alert_manage_email,
    alert_member_subscriptions_cancel,
    alert_subscribe,
    alert_subscriptions_cancel,
    alert_unsubscribe,
    provision_label,
)

# The status of each refusal: a link that was fine once and is not any more is Gone.
REFUSAL_STATUS = {"tampered": 400, "expired": 410, "cancelled": 410}


def _target(params):
    """The guideline and provision named by ?guideline=&provision= (404 for anything else)."""
    guideline = get_object_or_404(Guideline, slug=params.get("guideline", "")[:100])
    provision_slug = params.get("provision", "")[:120]
    provision = get_object_or_404(Provision, guideline=guideline, slug=provision_slug) if provision_slug else None
    return guideline, provision


def _language(params, request) -> str:
    language = params.get("language", "")
    return language if language in dict(settings.LANGUAGES) else request.LANGUAGE_CODE


def _verified_email(user) -> str | None:
    """The member's address when it is verified: following with it needs no confirmation email."""
    if not user.is_authenticated or not user.email:
        return None
    if EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists():
        return user.email
    return None


@require_http_methods(["GET", "POST"])
def follow(request):
    params = request.POST if request.method == "POST" else request.GET
    guideline, provision = _target(params)
    language = _language(params, request)
    verified = _verified_email(request.user)
    target = provision_label(AlertSubscription(guideline=guideline, provision=provision))
    context = {"guideline": guideline, "provision": provision, "language": language, "target": target}
    with translation.override(language):
        if request.method == "GET":
            form = AlertFollowForm(initial={"email": request.user.email if request.user.is_authenticated else ""})
            return render(request, "guidelines/alert_follow.html", {**context, "form": form, "verified": verified})
        if verified and "email" not in request.POST:
            alert_subscribe(
                email=verified,
                guideline=guideline,
                provision=provision,
                language=language,
                user=request.user,
                verified=True,
            )
            return render(request, "guidelines/alert_follow.html", {**context, "state": "following"})
        form = AlertFollowForm(request.POST)
        if not form.is_valid():
            return render(request, "guidelines/alert_follow.html", {**context, "form": form}, status=400)
        email = form.cleaned_data["email"].lower()
        if not ratelimit.consume(request, action="guideline_alert", key=email):
            return render(
                request, "guidelines/alert_follow.html", {**context, "form": form, "state": "too_many"}, status=429
            )
        alert_subscribe(email=email, guideline=guideline, provision=provision, language=language)
        # The same answer whether the address was new, waiting for confirmation or already following.
        return render(request, "guidelines/alert_follow.html", {**context, "state": "sent", "email": email})


def _refuse(request, template, error: AlertLinkInvalid):
    return render(request, template, {"error": error.messages[0]}, status=REFUSAL_STATUS.get(error.code, 400))


@require_http_methods(["GET", "POST"])
def confirm(request, token):
    """GET shows a button and changes nothing, so a mail scanner that fetches the link confirms nothing."""
    if request.method == "GET":
        return render(request, "guidelines/alert_confirm.html", {"state": "ask"})
    try:
        subscription = alert_confirm(token=token)
    except AlertLinkInvalid as error:
        return _refuse(request, "guidelines/alert_confirm.html", error)
    return render(
        request, "guidelines/alert_confirm.html", {"state": "confirmed", "target": provision_label(subscription)}
    )


def _ids(values) -> list[int]:
    return [int(value) for value in values if value.isdigit() and len(value) < 12]


@require_http_methods(["GET", "POST"])
def manage(request, token):
    try:
        email = alert_manage_email(token=token)
    except AlertLinkInvalid as error:
        return _refuse(request, "guidelines/alert_manage.html", error)
    cancelled = None
    if request.method == "POST":
        ids = None if request.POST.get("all") else _ids(request.POST.getlist("subscription"))
        cancelled = alert_subscriptions_cancel(email=email, subscription_ids=ids)
    subscriptions = alert_subscriptions_listed(AlertSubscription.objects.of_address(email).live())
    return render(
        request,
        "guidelines/alert_manage.html",
        {"email": email, "subscriptions": subscriptions, "cancelled": cancelled},
    )


# RFC 8058: a mail client POSTs "List-Unsubscribe=One-Click" here with no cookie, session or CSRF token; the
# signature of the link is the only credential, and it cancels only what it was issued for.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    if request.method == "GET":
        return render(request, "guidelines/alert_unsubscribe.html", {"state": "ask"})
    try:
        alert_unsubscribe(token=token)
    except AlertLinkInvalid as error:
        return _refuse(request, "guidelines/alert_unsubscribe.html", error)
    return render(request, "guidelines/alert_unsubscribe.html", {"state": "done"})


@login_required
@require_POST
def member_cancel(request):
    ids = None if request.POST.get("all") else _ids(request.POST.getlist("subscription"))
    alert_member_subscriptions_cancel(user=request.user, email=_verified_email(request.user), subscription_ids=ids)
    return redirect("members:profile")
