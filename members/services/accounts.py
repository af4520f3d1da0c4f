"""Writes and exports about accounts: sign-up completion, accounts the office creates, profile edits, ORCID
links, export and erasure."""

from __future__ import annotations

import fnmatch
from typing import Any

from allauth.account import app_settings as allauth_settings
from allauth.account.models import EmailAddress
from allauth.account.utils import user_pk_to_url_str
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from django.apps import apps as global_apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from guidelines.apps import EDITOR_MODELS
from guidelines.services.alerts import alert_subscriptions_erase
from members.models import AutoRenew, Membership, Order, ReminderDelivery, User
from members.models.memberships import society_today
from members.validators import person_name_normalise, validate_orcid, validate_person_name
from society.models import OutgoingEmail
from society.services.mail import email_enqueue_template, outgoing_emails_redact

MESSAGE_STAFF_CANNOT_BE_ERASED = _(
    "Staff accounts cannot be erased from the member area. Remove the staff status in the admin first."
)
ERASED_EMAIL_DOMAIN = "erased.invalid"
MSG_EMAIL_TAKEN = _("An account with this email address already exists.")
MSG_ACCOUNT_CREATED_SUBJECT = _("Your membership account at %(SOCIETY_NAME)s")
MSG_COUNTRY_REQUIRED = _("Choose the member's country: it sets their dues band.")

PROFILE_FIELDS = (
    "full_name",
    "preferred_name",
    "country",
    "institution",
    "position",
    "orcid",
    "language",
    "directory_visible",
    "wants_announcements",
    "billing_name",
    "billing_address",
    "billing_institution",
    "billing_tax_id",
)


def user_signup_populate(*, user: User, full_name: str, country: str) -> User:
    """Put the sign-up form's own fields on the account allauth is about to create, before its only save.

    Called from the account adapter's save_user (email and ORCID sign-up alike), so the account is inserted
    complete in one save: one history row, and never a moment without a name or country. Does not save.
    """
    user.full_name = full_name
    user.country = country
    user.profile_updated_at = timezone.now()
    return user


@transaction.atomic
def member_create(*, email: str, full_name: str, country: str, by) -> User:
    """An account the office opens for someone who joins by phone or at the meeting desk. It has no password:
    the member is emailed a link to choose one (the link of a password reset, valid PASSWORD_RESET_TIMEOUT;
    "Forgot your password?" gives a fresh one), which also proves the address is theirs."""
    email = (email or "").strip()
    validate_email(email)
    full_name = person_name_normalise(full_name or "")
    validate_person_name(full_name)
    if not full_name:
        raise ValidationError(_("Enter the member's full name."), code="full_name")
    if country not in countries:
        raise ValidationError(MSG_COUNTRY_REQUIRED, code="country")
    if User.objects.filter(email__iexact=email).exists() or EmailAddress.objects.filter(email__iexact=email).exists():
        raise ValidationError(MSG_EMAIL_TAKEN, code="email_taken")
    user = User(email=email, full_name=full_name, country=country, profile_updated_at=timezone.now())
    user.set_unusable_password()
    user._history_user = by
    user.save()
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
    path = reverse(
        "account_reset_password_from_key",
        kwargs={
            "uidb36": user_pk_to_url_str(user),
            "key": allauth_settings.PASSWORD_RESET_TOKEN_GENERATOR().make_token(user),
        },
    )
    email_enqueue_template(
        to=user.email,
        language=user.language,
        subject=MSG_ACCOUNT_CREATED_SUBJECT,
        template="members/email/account_created",
        context={"user": user, "set_password_url": settings.SITE_URL + path},
        kind="account",
        key=f"account_created:{user.pk}",
    )
    return user


@transaction.atomic
def user_language_set(*, user: User, language: str) -> None:
    """Save the member's language (the footer switcher): their pages and every email to them use it."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.language != language:
        locked.language = language
        locked.save(update_fields=["language"])
    user.language = language


@transaction.atomic
def user_profile_update(*, user: User, data: dict[str, Any]) -> User:
    """Save the profile fields of a validated ProfileForm. The next dues price reads the saved country."""
    user = User.objects.select_for_update().get(pk=user.pk)
    changed = [field for field in PROFILE_FIELDS if field in data and getattr(user, field) != data[field]]
    for field in changed:
        setattr(user, field, data[field])
    user.profile_updated_at = timezone.now()
    user.full_clean(exclude=["password"])
    user.save(update_fields=[*changed, "profile_updated_at"])
    return user


BILLING_FIELDS = ("billing_name", "billing_institution", "billing_address", "billing_tax_id")


@transaction.atomic
def user_billing_update(*, user: User, billing: dict[str, str]) -> User:
    """Save the billing details a member gave at checkout, as if edited on the profile."""
    user = User.objects.select_for_update().get(pk=user.pk)
    changed = [field for field in BILLING_FIELDS if field in billing and getattr(user, field) != billing[field]]
    if changed:
        for field in changed:
            setattr(user, field, (billing[field] or "").strip())
        user.full_clean(exclude=["password"])
        user.save(update_fields=changed)
    return user


@transaction.atomic
def user_orcid_link(*, user: User, orcid: str) -> bool:
    """Fill the member's ORCID iD from a signed-in ORCID account (proof of ownership).

    Leaves the field alone when another account already claims the same iD: that conflict is for staff to
    settle, not for an automatic overwrite. Returns whether the iD was stored.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.orcid == orcid:
        return True
    if User.objects.filter(orcid=orcid).exclude(pk=user.pk).exists():
        return False
    validate_orcid(orcid)
    user.orcid = orcid
    user.save(update_fields=["orcid"])
    return True


def _iso(value):
    return value.isoformat() if value else None


def user_export_data(*, user: User) -> dict[str, Any]:
    """Everything held about one member, as JSON-ready data (GDPR access and portability).

    Other parts of the portal add their own section by adding a key here (e.g. "emails_sent").
    Secrets (password hash, MFA secrets, OAuth tokens) are never exported.
    """
    data: dict[str, Any] = {
        "generated_at": _iso(timezone.now()),
        "account": {
            "id": user.pk,
            "email": user.email,
            "date_joined": _iso(user.date_joined),
            "last_login": _iso(user.last_login),
            "is_active": user.is_active,
            "has_usable_password": user.has_usable_password(),
            "mfa_methods": sorted(Authenticator.objects.filter(user=user).values_list("type", flat=True)),
        },
        "email_addresses": [
            {"email": address.email, "verified": address.verified, "primary": address.primary}
            for address in EmailAddress.objects.filter(user=user).order_by("email")
        ],
        "profile": {
            "full_name": user.full_name,
            "preferred_name": user.preferred_name,
            "country": user.country.code if user.country else "",
            "institution": user.institution,
            "billing_name": user.billing_name,
            "billing_address": user.billing_address,
            "billing_institution": user.billing_institution,
            "billing_tax_id": user.billing_tax_id,
            "position": user.position,
            "orcid": user.orcid,
            "language": user.language,
            "directory_visible": user.directory_visible,
            "profile_updated_at": _iso(user.profile_updated_at),
        },
        "social_accounts": [
            {"provider": account.provider, "uid": account.uid, "date_joined": _iso(account.date_joined)}
            for account in SocialAccount.objects.filter(user=user).order_by("provider", "uid")
        ],
        "membership": None,
        "orders": [],
        "reminders_sent": [],
    }
    membership = Membership.objects.with_status(society_today()).filter(user=user).first()
    if membership is not None:
        data["membership"] = {
            "created_at": _iso(membership.created_at),
            "status": membership.status,
            "cancelled_at": _iso(membership.cancelled_at),
            "cancel_reason": membership.cancel_reason,
            "terms": [
                {
                    "membership_type": term.membership_type.name,
                    "start": _iso(term.start),
                    "end": _iso(term.end),
                    "order": term.order.number if term.order_id else None,
                    "voided_at": _iso(term.voided_at),
                    "void_reason": term.void_reason,
                }
                for term in membership.terms.select_related("membership_type", "order").order_by("start")
            ],
        }
        data["orders"] = [
            {
                "number": order.number,
                "membership_type": order.membership_type.name,
                "country": order.country.code if order.country else "",
                "band": order.band,
                "amount": str(order.amount),
                "currency": order.currency,
                "status": order.status,
                "payment_method": order.provider,
                "created_at": _iso(order.created_at),
                "paid_at": _iso(order.paid_at),
                "refunded_at": _iso(order.refunded_at),
            }
            for order in Order.objects.filter(membership=membership).select_related("membership_type")
        ]
        data["reminders_sent"] = [
            {
                "rule_offset_days": delivery.rule.offset_days,
                "term_end": _iso(delivery.term.end),
                "created_at": _iso(delivery.created_at),
                "email_status": delivery.email.status,
                "email_sent_at": _iso(delivery.email.sent_at),
            }
            for delivery in ReminderDelivery.objects.filter(membership=membership)
            .select_related("rule", "term", "email")
            .order_by("created_at")
        ]
    addresses = {user.email.lower(), *(address["email"].lower() for address in data["email_addresses"])}
    data["emails_sent"] = [
        {
            "to": email.to,
            "subject": email.subject,
            "kind": email.kind,
            "status": email.status,
            "created_at": _iso(email.created_at),
            "sent_at": _iso(email.sent_at),
        }
        for email in OutgoingEmail.objects.annotate(to_lower=Lower("to"))
        .filter(to_lower__in=addresses)
        .order_by("created_at")
    ]
    return data


@transaction.atomic
def user_erase(*, user: User) -> User:
    """Erase a member's personal data at their request, keeping the society's financial records.

    The row is kept, because memberships, terms and orders (amounts, dates, numbers: records the society must
    keep) point to it through PROTECT keys; every personal field is blanked, login disabled, email addresses,
    social logins and MFA devices deleted, and the change history holding the old values purged.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_staff or user.is_superuser:
        raise ValidationError(MESSAGE_STAFF_CANNOT_BE_ERASED, code="staff")
    if user.erased_at:
        return user

    addresses = {user.email, *EmailAddress.objects.filter(user=user).values_list("email", flat=True)}
    EmailAddress.objects.filter(user=user).delete()
    SocialAccount.objects.filter(user=user).delete()
    Authenticator.objects.filter(user=user).delete()
    Order.objects.filter(created_by=user).update(created_by=None)
    # Never charged again, and what identified the card is gone (Stripe keeps the card; staff may delete it there).
    AutoRenew.objects.filter(membership__user=user).update(
        enabled=False,
        stripe_customer="",
        payment_method="",
        card_brand="",
        card_last4="",
        card_exp_month=None,
        card_exp_year=None,
    )
    # The orders stay (amounts, dates, numbers) without the name and address they were made out to, as the
    # profile page promises; their history rows too.
    billing_blank = {"billing_name": "", "billing_address": "", "billing_institution": "", "billing_tax_id": ""}
    Order.objects.filter(membership__user=user).update(**billing_blank)
    Order.history.filter(membership__user=user).update(**billing_blank)

    user.email = f"erased-{user.pk}@{ERASED_EMAIL_DOMAIN}"
    # Emails already written to them are blanked too; anything still unsent is stopped.
    for address in addresses:
        outgoing_emails_redact(address=address, replacement=user.email)
    alert_subscriptions_erase(user=user, addresses=addresses)
    user.full_name = ""
    user.preferred_name = ""
    user.institution = ""
    user.billing_name = user.billing_address = user.billing_institution = user.billing_tax_id = ""
    user.position = ""
    user.orcid = ""
    user.country = ""
    user.directory_visible = False
    user.is_active = False
    user.set_unusable_password()
    user.groups.clear()
    user.user_permissions.clear()
    user.erased_at = timezone.now()
    user.profile_updated_at = user.erased_at
    # Earlier history rows hold the personal values; the save below writes one anonymised row.
    user.history.all().delete()
    user.save()
    return user


# Which admin sections each staff group works in: app label -> model name patterns.
# Models added later are picked up on the next migrate.
STAFF_GROUPS: dict[str, dict[str, tuple[str, ...]]] = {
    "Membership staff": {
        "members": ("*",),
        # The outbox and job heartbeats are shared infrastructure in the society app; staff re-send failed
        # emails and see when the reminder job last ran.
        "society": ("outgoingemail", "jobheartbeat", "suppressedaddress"),
        "account": ("emailaddress",),
        "socialaccount": ("socialaccount",),
    },
    "Editors": {
        "guidelines": EDITOR_MODELS,
        "society": ("news*",),
    },
}


@transaction.atomic
def groups_sync(*, apps=global_apps) -> dict[str, int]:
    """Create the staff groups and set their permissions to exactly those of STAFF_GROUPS. Idempotent.

    Runs after every migrate (members.apps), so models added later by other apps join their group.
    Returns the number of permissions per group.
    """
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    result = {}
    for group_name, sections in STAFF_GROUPS.items():
        group, _created = Group.objects.get_or_create(name=group_name)
        wanted = []
        permissions = Permission.objects.filter(content_type__app_label__in=list(sections)).select_related(
            "content_type"
        )
        for permission in permissions:
            patterns = sections[permission.content_type.app_label]
            if any(fnmatch.fnmatch(permission.content_type.model, pattern) for pattern in patterns):
                wanted.append(permission)
        group.permissions.set(wanted)
        result[group_name] = len(wanted)
    return result
