"""Following a guideline or a provision: subscribing (with a confirmation email unless the address is a
member's verified one), confirming, cancelling, and the signed links that stand in for a login.

Every link carries only what its page needs, signed with a salt of its own so that no link can be used for
another purpose. None reveals whether an address follows anything to whoever does not hold it."""

import datetime
import math
import time

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.translation import gettext_lazy as _

from guidelines.models import AlertSubscription, Guideline, Provision, ProvisionVersion
from society.services.mail import email_enqueue_template

CONFIRM_SALT = "guidelines.alerts.confirm"
MANAGE_SALT = "guidelines.alerts.manage"
UNSUBSCRIBE_SALT = "guidelines.alerts.unsubscribe"
CONFIRM_MAX_AGE = 7 * 24 * 3600
MANAGE_MAX_AGE = 90 * 24 * 3600
# A one-click unsubscribe must still work when an old alert is found in an archive.
UNSUBSCRIBE_MAX_AGE = 2 * 365 * 24 * 3600

PROVISION_NOT_IN_GUIDELINE = _("This provision is not part of this guideline.")
LINK_INVALID = _("This link is not valid. Use the link from your most recent email.")
LINK_EXPIRED = _("This link has expired. Follow the guideline again to receive a fresh one.")
SUBSCRIPTION_CANCELLED = _("This alert was cancelled. Follow the guideline again to receive alerts.")


class AlertLinkInvalid(ValidationError):
    pass


def _load(token: str, *, salt: str, max_age: int) -> dict:
    try:
        payload = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired as error:
        raise AlertLinkInvalid(LINK_EXPIRED, code="expired") from error
    except signing.BadSignature as error:
        raise AlertLinkInvalid(LINK_INVALID, code="tampered") from error
    if not isinstance(payload, dict):
        raise AlertLinkInvalid(LINK_INVALID, code="tampered")
    return payload


def alert_confirm_token(*, subscription: AlertSubscription) -> str:
    return signing.dumps({"s": subscription.pk}, salt=CONFIRM_SALT)


def alert_manage_token(*, email: str) -> str:
    return signing.dumps({"e": email}, salt=MANAGE_SALT, compress=True)


def alert_unsubscribe_token(*, email: str, guideline_id: int, issued_at: float | None = None) -> str:
    """Cancels what `email` followed of the guideline when the alert was sent, and nothing followed later: a
    link used once, or kept from an old alert, cannot cancel a subscription made after it."""
    # In milliseconds, rounded up: a subscription made the moment before the alert is covered.
    issued = math.ceil((issued_at if issued_at is not None else time.time()) * 1000)
    return signing.dumps({"e": email, "g": guideline_id, "t": issued}, salt=UNSUBSCRIBE_SALT, compress=True)


def alert_manage_email(*, token: str) -> str:
    email = _load(token, salt=MANAGE_SALT, max_age=MANAGE_MAX_AGE).get("e")
    if not isinstance(email, str):
        raise AlertLinkInvalid(LINK_INVALID, code="tampered")
    return email


def alert_link_urls(*, email: str, guideline_id: int, issued_at: float | None = None) -> dict[str, str]:
    """The absolute URLs every alert carries: the page to manage alerts, and the one-click unsubscribe."""
    manage = reverse("alerts:manage", kwargs={"token": alert_manage_token(email=email)})
    token = alert_unsubscribe_token(email=email, guideline_id=guideline_id, issued_at=issued_at)
    unsubscribe = reverse("alerts:unsubscribe", kwargs={"token": token})
    return {"manage_url": settings.SITE_URL + manage, "unsubscribe_url": settings.SITE_URL + unsubscribe}


@transaction.atomic
def alert_subscribe(
    *,
    email: str,
    guideline: Guideline,
    provision: Provision | None,
    language: str,
    user=None,
    verified: bool = False,
) -> AlertSubscription:
    """Follow `provision` (with everything under it), or the whole guideline when it is None.

    `verified`: the address is the signed-in member's verified one, so it is active at once. Otherwise the
    address gets a confirmation email, also when it already follows the target (its confirmation link then
    just says so): the page answers the same either way, so it tells nobody what an address follows."""
    if provision is not None and provision.guideline_id != guideline.pk:
        raise ValidationError(PROVISION_NOT_IN_GUIDELINE, code="provision")
    email = email.strip().lower()
    languages = dict(settings.LANGUAGES)
    language = language if language in languages else settings.LANGUAGE_CODE
    live = (
        AlertSubscription.objects.live()
        .select_for_update()
        .filter(email=email, guideline=guideline, provision=provision)
    )
    subscription = live.first()
    if subscription is None:
        try:
            with transaction.atomic():
                subscription = AlertSubscription.objects.create(
                    email=email, guideline=guideline, provision=provision, language=language, user=user
                )
        except IntegrityError:
            # A second request for the same target committed first: the constraint keeps one row, use it.
            subscription = live.get()
    now = timezone.now()
    if verified:
        fields = {"language": language, "user": user}
        if subscription.status != AlertSubscription.Status.ACTIVE:
            fields.update(status=AlertSubscription.Status.ACTIVE, confirmed_at=now)
        AlertSubscription.objects.filter(pk=subscription.pk).update(**fields)
        subscription.refresh_from_db()
        return subscription
    target = provision_label(subscription)
    email_enqueue_template(
        to=email,
        language=language,
        subject=_("Confirm your alerts for %(target)s"),
        template="guidelines/email/alert_confirm",
        context={
            "target": target,
            "confirm_url": settings.SITE_URL
            + reverse("alerts:confirm", kwargs={"token": alert_confirm_token(subscription=subscription)}),
            "manage_url": alert_link_urls(email=email, guideline_id=guideline.pk)["manage_url"],
        },
        kind="guideline_alert_confirm",
        # One confirmation per request (the form is rate-limited per address); the key only has to be unique.
        key=f"guideline-alert-confirm:{subscription.pk}:{get_random_string(12)}",
    )
    return subscription


def provision_label(subscription: AlertSubscription) -> str:
    """What a subscription follows, in words: "Guideline 3" or "Guideline 3, 1.2 Consent" (the provision as
    its latest published edition numbers it)."""
    guideline = subscription.guideline
    if subscription.provision_id is None:
        return guideline.title
    version = (
        ProvisionVersion.objects.published()
        .filter(provision_id=subscription.provision_id, edition__translation_of__isnull=True)
        .order_by("-edition__published_on", "-edition_id")
        .first()
    )
    return f"{guideline.title}, {version.numbered_heading if version else subscription.provision.slug}"


@transaction.atomic
def alert_confirm(*, token: str) -> AlertSubscription:
    subscription_id = _load(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE).get("s")
    subscription = (
        AlertSubscription.objects.select_for_update()
        .filter(pk=subscription_id if isinstance(subscription_id, int) else None)
        .first()
    )
    if subscription is None:
        raise AlertLinkInvalid(LINK_INVALID, code="tampered")
    if subscription.status == AlertSubscription.Status.CANCELLED:
        raise AlertLinkInvalid(SUBSCRIPTION_CANCELLED, code="cancelled")
    if subscription.status == AlertSubscription.Status.PENDING:
        subscription.status = AlertSubscription.Status.ACTIVE
        subscription.confirmed_at = timezone.now()
        subscription.save(update_fields=["status", "confirmed_at"])
    return subscription


def _cancel(subscriptions) -> int:
    return subscriptions.live().update(status=AlertSubscription.Status.CANCELLED, cancelled_at=timezone.now())


@transaction.atomic
def alert_subscriptions_cancel(*, email: str, subscription_ids: list[int] | None = None) -> int:
    """Cancel the address's subscriptions (those listed, or all). Ids of other addresses are ignored."""
    subscriptions = AlertSubscription.objects.of_address(email)
    if subscription_ids is not None:
        subscriptions = subscriptions.filter(pk__in=subscription_ids)
    return _cancel(subscriptions)


@transaction.atomic
def alert_member_subscriptions_cancel(*, user, email: str | None, subscription_ids: list[int] | None = None) -> int:
    """Cancel the member's subscriptions (those listed, or all), including those of `email`, their verified
    address, made before they signed in."""
    subscriptions = AlertSubscription.objects.of_member(user, email)
    if subscription_ids is not None:
        subscriptions = subscriptions.filter(pk__in=subscription_ids)
    return _cancel(subscriptions)


@transaction.atomic
def alert_unsubscribe(*, token: str) -> int:
    """RFC 8058 one-click unsubscribe: only a valid signature changes anything, and only once."""
    payload = _load(token, salt=UNSUBSCRIBE_SALT, max_age=UNSUBSCRIBE_MAX_AGE)
    email, guideline_id, issued = payload.get("e"), payload.get("g"), payload.get("t")
    if not (isinstance(email, str) and isinstance(guideline_id, int) and isinstance(issued, int)):
        raise AlertLinkInvalid(LINK_INVALID, code="tampered")
    issued_at = datetime.datetime.fromtimestamp(issued / 1000, tz=datetime.UTC)
    return _cancel(
        AlertSubscription.objects.of_address(email).filter(guideline_id=guideline_id, created_at__lte=issued_at)
    )


def alert_subscriptions_erase(*, user, addresses) -> int:
    """For a member's erasure: delete what they follow, by account or by any of their addresses (a cancelled
    row still holds the address). Called inside the erasure's transaction."""
    emails = [address.strip().lower() for address in addresses if address]
    return AlertSubscription.objects.filter(Q(user=user) | Q(email__in=emails)).delete()[0]
