"""Personal renew links: a member clicks the link in a reminder and is signed in for renewal only, no password.

The token is `django.core.signing` over a random nonce (tamper-evident, with its own timestamp), and the nonce's
hash is a RenewLink row (expiry, single use). The session it opens is recorded as an allauth authentication of
method "renew_link", which members.middleware.RenewOnlyMiddleware confines to the renewal pages until a normal
login; it is never a second factor, so it never grants staff powers (society.access), and staff accounts are
refused outright. allauth's login by code was the alternative: it needs the member to type a code from a second
email, which is one more step on a phone and one more email to wait for.
"""

import datetime
import hashlib
import secrets

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models import Membership, RenewLink, User
from society.services.mail import email_enqueue_template

SALT = "members.renew-link"
AUTH_METHOD = "renew_link"
RENEW_LINK_SUBJECT = _("Your link to renew your membership")


class RenewLinkInvalid(Exception):
    """Why a link cannot be used: `code` is "tampered", "expired" or "used"."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def _hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def _new(*, user_id: int, now: datetime.datetime) -> tuple[RenewLink, str]:
    nonce = secrets.token_urlsafe(24)
    link = RenewLink(
        user_id=user_id,
        nonce_hash=_hash(nonce),
        created_at=now,
        expires_at=now + datetime.timedelta(days=settings.RENEW_LINK_DAYS),
    )
    return link, signing.dumps(nonce, salt=SALT)


def url_for_token(token: str) -> str:
    return settings.SITE_URL + reverse("members:renew-link", kwargs={"token": token})


def renew_links_create(*, user_ids: list[int]) -> dict[int, str]:
    """One new link per member (as many as there are emails, each single-use), in the caller's transaction.
    Returns the links' full URLs by user id; a batch of reminders writes them in one INSERT."""
    now = timezone.now()
    links, urls = [], {}
    for user_id in user_ids:
        link, token = _new(user_id=user_id, now=now)
        links.append(link)
        urls[user_id] = url_for_token(token)
    RenewLink.objects.bulk_create(links, batch_size=1000)
    return urls


def renew_link_find(*, token: str) -> RenewLink:
    """The link's row if it can still be used; RenewLinkInvalid otherwise. Reads only, consumes nothing."""
    try:
        nonce = signing.loads(token, salt=SALT, max_age=datetime.timedelta(days=settings.RENEW_LINK_DAYS))
    except signing.SignatureExpired as error:
        raise RenewLinkInvalid("expired") from error
    except signing.BadSignature as error:
        raise RenewLinkInvalid("tampered") from error
    link = RenewLink.objects.select_related("user").filter(nonce_hash=_hash(str(nonce))).first()
    if link is None:
        raise RenewLinkInvalid("tampered")
    if link.used_at is not None:
        raise RenewLinkInvalid("used")
    if link.expires_at <= timezone.now():
        raise RenewLinkInvalid("expired")
    return link


def renew_link_consume(*, token: str) -> User:
    """Use the link once: the conditional UPDATE lets exactly one of two simultaneous clicks through."""
    link = renew_link_find(token=token)
    used = RenewLink.objects.filter(pk=link.pk, used_at__isnull=True, expires_at__gt=timezone.now()).update(
        used_at=timezone.now()
    )
    if not used:
        raise RenewLinkInvalid("used")
    return link.user


def may_use_renew_link(user: User) -> bool:
    """Staff sign in with password and authenticator only: a link in an inbox must never open the admin."""
    return user.is_active and not user.is_staff and not user.is_superuser


@transaction.atomic
def renew_link_email(*, email: str) -> None:
    """Email a fresh link to the member with this address, if there is one who may use it. Says nothing
    either way, so the form that calls it cannot tell whether an address has an account."""
    user = User.objects.filter(email__iexact=(email or "").strip()).first()
    if user is None or not may_use_renew_link(user) or not Membership.objects.filter(user=user).exists():
        return
    link, token = _new(user_id=user.pk, now=timezone.now())
    link.save()
    url = url_for_token(token)
    email_enqueue_template(
        to=user.email,
        language=user.language,
        subject=RENEW_LINK_SUBJECT,
        template="members/email/renew_link",
        context={"user": user, "renew_url": url, "days": settings.RENEW_LINK_DAYS},
        kind="renew_link",
        key=f"renew_link:{link.pk}",
    )
