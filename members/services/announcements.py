"""Announcements to a segment of the members: schedule, queue to the outbox (once per member), preview,
test, report; and the member's choice to receive them or not.

Queuing writes one outbox row per member of the segment with the idempotency key
`announcement:<id>:user:<id>`, so a job that runs twice, or dies half-way and runs again, adds nothing
twice. Rows are spread over time at settings.ANNOUNCEMENT_RATE (their next_attempt_at), and the outbox
sweeper hands them to the workers as they fall due: the provider's limit holds without a countdown in
Redis. Opted-out and suppressed members get a row too, settled at once with that status, so the report
counts them; the outbox checks both again when it sends, so an opt-out stops the very next message.
"""

import datetime
import logging
import re
from dataclasses import dataclass

from celery import current_app
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _
from kombu.exceptions import OperationalError as BrokerError

from members.models import (
    Announcement,
    AnnouncementStatus,
    AutoRenew,
    CountryBand,
    Membership,
    Term,
    User,
)
from members.models.memberships import society_today
from society.markdown import markdown_to_text, render_markdown
from society.models import OutgoingEmail, OutgoingEmailStatus, SuppressedAddress
from society.services.mail import email_enqueue, outbox_requeue_due

logger = logging.getLogger(__name__)

KIND = "announcement"
QUEUE_TASK = "members.tasks.queue_announcement"
# Members read and written per round trip when queuing: one SELECT, one suppression lookup, a few INSERTs.
QUEUE_BATCH = 5000
UNSUBSCRIBE_SALT = "members.announcements.unsubscribe"
# Long: an announcement is read weeks later, and mail clients keep the List-Unsubscribe URL as long.
UNSUBSCRIBE_MAX_AGE = 60 * 60 * 24 * 365
# Stand-ins rendered into the template once per language, replaced per member: rendering the whole
# template 100,000 times would take minutes.
NAME_MARK = "%%member-name%%"
MANAGE_MARK = "%%manage-url%%"

MSG_NOT_DRAFT = _("Only a draft announcement can be sent or scheduled.")
MSG_PAST = _("Choose a time in the future, or send now.")
MSG_NOBODY = _("No member matches this segment.")


# --- The segment -------------------------------------------------------------------------------------


def segment_memberships(*, announcement: Announcement, today: datetime.date | None = None) -> QuerySet:
    """Memberships of the members the announcement goes to: every filter set, combined with AND."""
    memberships = Membership.objects.with_status(today or society_today()).filter(
        user__is_active=True, user__erased_at__isnull=True
    )
    if announcement.statuses:
        memberships = memberships.filter(status__in=announcement.statuses)
    if announcement.pk and announcement.membership_types.exists():
        # The type of the current term: the one ending on current_end, or the lifetime term.
        current_of_type = Term.objects.filter(
            Q(end__gte=OuterRef("current_end")) | Q(end__isnull=True),
            membership=OuterRef("pk"),
            voided_at__isnull=True,
            membership_type__in=announcement.membership_types.all(),
        )
        memberships = memberships.filter(Exists(current_of_type))
    if announcement.bands:
        memberships = memberships.filter(
            user__country__in=CountryBand.objects.filter(band__in=announcement.bands).values("country")
        )
    if announcement.countries:
        memberships = memberships.filter(user__country__in=[country.code for country in announcement.countries])
    if announcement.languages:
        memberships = memberships.filter(user__language__in=announcement.languages)
    if announcement.joined_after:
        memberships = memberships.filter(created_at__date__gte=announcement.joined_after)
    if announcement.joined_before:
        memberships = memberships.filter(created_at__date__lt=announcement.joined_before)
    if announcement.auto_renew is not None:
        renewing = Exists(AutoRenew.objects.enabled().filter(membership=OuterRef("pk")))
        memberships = memberships.filter(renewing if announcement.auto_renew else ~renewing)
    return memberships


def segment_count(*, announcement: Announcement) -> int:
    return segment_memberships(announcement=announcement).count()


def segment_sample(*, announcement: Announcement) -> User | None:
    membership = segment_memberships(announcement=announcement).select_related("user").order_by("pk").first()
    return membership.user if membership else None


# --- The member's choice ---------------------------------------------------------------------------------


def unsubscribe_token(*, user_id: int) -> str:
    return signing.dumps({"u": user_id}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_user(*, token: str) -> User | None:
    """The member a signed unsubscribe link names, or None when it is forged, tampered with or expired."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=UNSUBSCRIBE_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    return User.objects.filter(pk=data["u"], erased_at__isnull=True).first()


def unsubscribe_url(*, user_id: int) -> str:
    return settings.SITE_URL + reverse(
        "members:announcements-unsubscribe", kwargs={"token": unsubscribe_token(user_id=user_id)}
    )


def member_announcements_set(*, user: User, wanted: bool) -> None:
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(wants_announcements=wanted)
    user.wants_announcements = wanted


def _user_id(key: str | None) -> int | None:
    match = re.fullmatch(r"announcement:\d+:user:(\d+)", key or "")
    return int(match.group(1)) if match else None


def announcement_opt_outs(emails: list[OutgoingEmail]) -> set[int]:
    """The outbox's send-time check (registered in members.apps): rows whose member has opted out since."""
    users = {email.pk: _user_id(email.idempotency_key) for email in emails}
    declined = set(
        User.objects.filter(pk__in={user for user in users.values() if user}, wants_announcements=False).values_list(
            "pk", flat=True
        )
    )
    return {email_pk for email_pk, user in users.items() if user in declined}


# --- Rendering -------------------------------------------------------------------------------------------


def _article_url(announcement: Announcement) -> str:
    article = announcement.news_article
    return settings.SITE_URL + article.get_absolute_url() if article else ""


def _templates(*, announcement: Announcement, language: str) -> tuple[str, str]:
    """Text and HTML with the member's name and link left as marks, in `language`."""
    context = {
        "announcement": announcement,
        "body_html": render_markdown(announcement.body),
        "body_text": markdown_to_text(announcement.body),
        "name": NAME_MARK,
        "manage_url": MANAGE_MARK,
        "article_url": _article_url(announcement),
        "SOCIETY_NAME": settings.SOCIETY_NAME,
        "site_url": settings.SITE_URL,
    }
    with translation.override(language or settings.LANGUAGE_CODE):
        return (
            render_to_string("members/email/announcement.txt", context),
            render_to_string("members/email/announcement.html", context),
        )


def _personalise(templates: tuple[str, str], *, name: str, url: str) -> tuple[str, str]:
    text, html = templates
    return (
        text.replace(NAME_MARK, name).replace(MANAGE_MARK, url),
        html.replace(NAME_MARK, escape(name)).replace(MANAGE_MARK, escape(url)),
    )


def _headers(url: str) -> dict[str, str]:
    # RFC 8058: the URL alone unsubscribes on a POST, so mail providers can offer their own button.
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


@dataclass
class Rendered:
    subject: str
    text: str
    html: str
    headers: dict[str, str]


def announcement_render(*, announcement: Announcement, user: User) -> Rendered:
    """What `user` receives: the preview in admin and the test email show exactly this."""
    url = unsubscribe_url(user_id=user.pk)
    text, html = _personalise(
        _templates(announcement=announcement, language=user.language), name=user.get_short_name(), url=url
    )
    return Rendered(subject=announcement.subject, text=text, html=html, headers=_headers(url))


# --- Sending ---------------------------------------------------------------------------------------------


def sending_rate() -> tuple[int, int]:
    """settings.ANNOUNCEMENT_RATE ("600/m", "20000/h") as (emails, seconds)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*([mh])\s*", settings.ANNOUNCEMENT_RATE)
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"ANNOUNCEMENT_RATE must look like 600/m or 20000/h, not {settings.ANNOUNCEMENT_RATE!r}")
    return int(match.group(1)), 60 if match.group(2) == "m" else 3600


def announcement_send_test(*, announcement: Announcement, to: User) -> OutgoingEmail:
    """The announcement as `to` would receive it, to `to` alone. A kind of its own: never skipped, never
    counted in the announcement's report."""
    rendered = announcement_render(announcement=announcement, user=to)
    with transaction.atomic():
        return email_enqueue(
            to=to.email,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            kind="announcement_test",
            related_key=f"announcement-test:{announcement.pk}",
            headers=rendered.headers,
        )


def _publish_queue_task(announcement_id: int) -> None:
    try:
        current_app.send_task(QUEUE_TASK, args=[announcement_id])
    except (BrokerError, OSError) as exc:
        # The minute's beat job (announcements_queue_due) finds it due all the same.
        logger.warning("Broker unreachable, announcement %s waits for the next run: %s", announcement_id, exc)


def announcement_schedule(*, announcement_id: int, send_at: datetime.datetime | None = None) -> Announcement:
    """Send now (send_at None) or at `send_at`. Only a draft with at least one recipient can be scheduled."""
    now = timezone.now()
    with transaction.atomic():
        announcement = Announcement.objects.select_for_update().get(pk=announcement_id)
        if announcement.status != AnnouncementStatus.DRAFT:
            raise ValidationError(MSG_NOT_DRAFT)
        if send_at is not None and send_at <= now:
            raise ValidationError(MSG_PAST)
        if not segment_memberships(announcement=announcement).exists():
            raise ValidationError(MSG_NOBODY)
        announcement.status = AnnouncementStatus.SCHEDULED
        announcement.send_at = send_at or now
        announcement.save(update_fields=["status", "send_at"])
        if send_at is None:
            transaction.on_commit(lambda: _publish_queue_task(announcement.pk))
    return announcement


def announcement_unschedule(*, announcement_id: int) -> Announcement:
    """Back to draft, as long as nothing was queued yet."""
    with transaction.atomic():
        announcement = Announcement.objects.select_for_update().get(pk=announcement_id)
        if announcement.status != AnnouncementStatus.SCHEDULED:
            raise ValidationError(MSG_NOT_DRAFT)
        announcement.status, announcement.send_at = AnnouncementStatus.DRAFT, None
        announcement.save(update_fields=["status", "send_at"])
    return announcement


def announcement_queue(*, announcement_id: int) -> int:
    """Write the outbox rows of a due announcement, once: one per member of the segment, in batches of
    QUEUE_BATCH members with a fixed number of queries each. Returns how many rows were written."""
    now = timezone.now()
    per_period, period = sending_rate()
    with transaction.atomic():
        announcement = Announcement.objects.select_for_update().filter(pk=announcement_id).first()
        if announcement is None or announcement.status != AnnouncementStatus.SCHEDULED or announcement.send_at > now:
            return 0
        members = (
            segment_memberships(announcement=announcement)
            .order_by("user_id")
            .values_list(
                "user_id", "user__email", "user__full_name", "user__preferred_name", "user__language",
                "user__wants_announcements",
            )
        )  # fmt: skip
        templates: dict[str, tuple[str, str]] = {}
        last_user, position = 0, 0
        before = OutgoingEmail.objects.filter(related_key=announcement.related_key).count()
        while batch := list(members.filter(user_id__gt=last_user)[:QUEUE_BATCH]):
            last_user = batch[-1][0]
            suppressed = set(
                SuppressedAddress.objects.matching(row[1] for row in batch).values_list("address", flat=True)
            )
            rows = []
            for user_id, email, full_name, preferred_name, language, wanted in batch:
                if language not in templates:
                    templates[language] = _templates(announcement=announcement, language=language)
                url = unsubscribe_url(user_id=user_id)
                text, html = _personalise(templates[language], name=preferred_name or full_name, url=url)
                if not wanted:
                    status, due = OutgoingEmailStatus.OPTED_OUT, None
                elif email.strip().lower() in suppressed:
                    status, due = OutgoingEmailStatus.SUPPRESSED, None
                else:
                    status, due = (
                        OutgoingEmailStatus.QUEUED,
                        now + datetime.timedelta(seconds=(position // per_period) * period),
                    )
                    position += 1
                rows.append(
                    OutgoingEmail(
                        to=email,
                        subject=announcement.subject,
                        text_body=text,
                        html_body=html,
                        reply_to=settings.REPLY_TO_EMAIL,
                        kind=KIND,
                        related_key=announcement.related_key,
                        idempotency_key=f"{announcement.related_key}:user:{user_id}",
                        headers=_headers(url),
                        status=status,
                        next_attempt_at=due,
                    )
                )
            # A row already written by an earlier run (same key) is left as it is.
            OutgoingEmail.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        written = OutgoingEmail.objects.filter(related_key=announcement.related_key).count() - before
        announcement.status, announcement.queued_at = AnnouncementStatus.QUEUED, now
        announcement.save(update_fields=["status", "queued_at"])
        # The first wave is due now: hand it to the workers at once rather than at the next sweep.
        transaction.on_commit(outbox_requeue_due)
    logger.info("Announcement %s queued to %d member(s)", announcement_id, written)
    return written


def announcements_queue_due() -> int:
    """The minute's job: queue every scheduled announcement whose time has come. Returns how many."""
    due = list(Announcement.objects.due(timezone.now()).values_list("pk", flat=True))
    for announcement_id in due:
        announcement_queue(announcement_id=announcement_id)
    return len(due)


def announcement_report(*, announcement: Announcement) -> dict[str, int]:
    """Rows per outcome: queued (waiting or being sent), sent, failed, suppressed, opted out."""
    counts = dict(
        OutgoingEmail.objects.filter(related_key=announcement.related_key)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return {
        "queued": counts.get(OutgoingEmailStatus.QUEUED, 0) + counts.get(OutgoingEmailStatus.SENDING, 0),
        "sent": counts.get(OutgoingEmailStatus.SENT, 0),
        "failed": counts.get(OutgoingEmailStatus.FAILED, 0),
        "suppressed": counts.get(OutgoingEmailStatus.SUPPRESSED, 0),
        "opted_out": counts.get(OutgoingEmailStatus.OPTED_OUT, 0),
    }
