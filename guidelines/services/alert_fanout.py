"""The alerts of a published edition: one email per address, listing only the changes to what it follows.

Built to scale with the number of subscribers: the comparison is made once; each change is rendered once per
language; an email is a join of rendered parts, remembered per (language, set of changes), so the thousands who
follow the whole guideline cost one render; and subscribers are read, checked and written in batches of a fixed
number of queries. Exactly once: each email carries the outbox idempotency key of (edition, address), and the
batches of two runs of the same edition take turns on the run's row lock, so the second finds the first's keys.
"""

import datetime
import hashlib
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as BrokerError

from guidelines.diff import ADDED, CHANGED, MOVED, REMOVED, compare_editions, redline_email_html, redline_text
from guidelines.models import AlertRun, AlertSubscription, Edition, ProvisionVersion
from guidelines.services.alerts import alert_link_urls
from society.models import OutgoingEmail
from society.services.mail import emails_enqueue_bulk

logger = logging.getLogger(__name__)

ALERT_KIND = "guideline_alert"
ALERT_TASK = "guidelines.tasks.send_edition_alerts"
ALERT_BATCH = 1000
# A run not finished this long after publishing lost its task (broker down, worker killed): the sweep queues it
# again. Well inside the five minutes in which subscribers are promised their alert.
REQUEUE_AFTER = datetime.timedelta(minutes=2)
LEASE = datetime.timedelta(minutes=5)
# Where the pieces of a subscriber's own email go into the text rendered once per language.
_CHANGES, _MANAGE, _UNSUBSCRIBE = "\ue010changes\ue011", "\ue010manage\ue011", "\ue010unsubscribe\ue011"
ALERT_GROUPS = (CHANGED, ADDED, REMOVED, MOVED)
# Changed provisions shown with their redline in one email; any further ones are listed with a link to their
# comparison. Past ~100 KB mail clients clip a message (Gmail), and a large revision would pass it.
MAX_INLINE_REDLINES = 30


def alert_run_start(*, edition: Edition) -> None:
    """In the publishing transaction: record that the edition's alerts are due, and queue them after commit.
    Translations carry no change of their own (their original's alerts went out), so they send none."""
    if edition.translation_of_id:
        return
    AlertRun.objects.get_or_create(edition=edition)
    transaction.on_commit(lambda: alert_runs_publish([edition.pk]))


def alert_runs_publish(edition_ids: list[int]) -> None:
    # A broker outage must not fail a publish that has committed: the run's row stays, the sweep finds it.
    try:
        with current_app.producer_or_acquire() as producer:
            for edition_id in edition_ids:
                current_app.send_task(ALERT_TASK, args=[edition_id], producer=producer)
    except (BrokerError, OSError) as exc:
        logger.warning("Broker unreachable, alerts of edition(s) %s left for the sweep: %s", edition_ids, exc)


def alert_runs_requeue(*, now=None) -> int:
    now = now or timezone.now()
    ids = list(
        AlertRun.objects.filter(finished_at__isnull=True, created_at__lte=now - REQUEUE_AFTER)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
        .values_list("edition_id", flat=True)
    )
    if ids:
        alert_runs_publish(ids)
    return len(ids)


@dataclass
class _Change:
    status: str
    old: ProvisionVersion | None
    new: ProvisionVersion | None
    renumbered: bool
    moved: bool
    old_body: str = ""
    new_body: str = ""
    redlines: dict = field(default_factory=dict)
    rendered: dict = field(default_factory=dict)


def _ancestry(provision_id, parents) -> list[int]:
    """The provision and every provision above it in one edition's tree (a cycle ends the walk)."""
    chain, node = [], provision_id
    while node is not None and node not in chain:
        chain.append(node)
        node = parents.get(node)
    return chain


def previous_original(edition: Edition) -> Edition | None:
    return (
        Edition.objects.published()
        .originals()
        .filter(guideline_id=edition.guideline_id)
        .filter(Q(published_on__lt=edition.published_on) | Q(published_on=edition.published_on, pk__lt=edition.pk))
        .order_by("-published_on", "-pk")
        .first()
    )


def edition_changes(old: Edition, new: Edition):
    """The changes between two editions (no unchanged provisions), each with the provisions whose followers
    hear of it: itself and everything above it, in the old tree and in the new (a move concerns both parts)."""
    versions = list(
        ProvisionVersion.objects.filter(edition__in=[old.pk, new.pk])
        .select_related("provision")
        .only("edition_id", "provision__slug", "number", "heading", "parent_id", "order", "content_hash", "body_text")
        .in_reading_order()
    )
    old_versions = [v for v in versions if v.edition_id == old.pk]
    new_versions = [v for v in versions if v.edition_id == new.pk]
    comparison = compare_editions(old, new, old_versions, new_versions, with_redline=False)
    parents = [{v.provision_id: v.parent_id for v in vs} for vs in (old_versions, new_versions)]
    changes, followers = [], defaultdict(set)
    for group in ALERT_GROUPS:
        for change in comparison.group(group):
            index = len(changes)
            changes.append(_Change(change.status, change.old, change.new, change.renumbered, change.moved))
            for tree in parents:
                for provision_id in _ancestry(change.provision.pk, tree):
                    followers[provision_id].add(index)
    return changes, followers


class _Renderer:
    """Renders each change once per language, and each distinct set of changes once per language."""

    def __init__(self, edition: Edition, previous: Edition, changes: list[_Change]):
        self.edition, self.previous, self.changes = edition, previous, changes
        self.wrappers, self.bodies = {}, {}

    def _url(self, name, **kwargs):
        return settings.SITE_URL + reverse(name, kwargs={"guideline": self.edition.guideline.slug, **kwargs})

    def _change(self, index, language, *, inline):
        change = self.changes[index]
        if change.status == CHANGED and not change.redlines:
            # Once per change, whatever the number of languages.
            old, new = change.old, change.new
            change.redlines = {
                "heading_html": redline_email_html(old.heading.strip(), new.heading.strip()),
                "body_html": redline_email_html(old.body_text, new.body_text),
                "heading_text": redline_text(old.heading.strip(), new.heading.strip()),
                "body_text": redline_text(old.body_text, new.body_text),
            }
        inline = inline and change.status == CHANGED
        if (language, inline) not in change.rendered:
            version = change.new or change.old
            edition = self.edition if change.new else self.previous
            context = {
                "change": change,
                "version": version,
                "url": self._url("guidelines:provision", edition=edition.slug, provision=version.provision.slug),
            }
            if change.status == CHANGED:
                context["compare_url"] = self._url(
                    "guidelines:compare-provision",
                    old=self.previous.slug,
                    new=self.edition.slug,
                    provision=version.provision.slug,
                )
                if inline:
                    context.update(change.redlines)
            # Past the inline limit a changed provision is one line: its heading, linked to its comparison.
            template = "_alert_change" if inline or change.status != CHANGED else "_alert_change_brief"
            change.rendered[language, inline] = (
                render_to_string(f"guidelines/email/{template}.html", context),
                render_to_string(f"guidelines/email/{template}.txt", context),
            )
        return change.rendered[language, inline]

    def wrapper(self, language):
        if language not in self.wrappers:
            correction = self.edition.kind == Edition.Kind.CORRECTION
            names = {"guideline": self.edition.guideline.title, "edition": self.edition.label}
            if correction:
                subject = _("Correction to %(guideline)s: what changed in %(edition)s") % names
            else:
                subject = _("%(guideline)s: what changed in %(edition)s") % names
            context = {
                "subject": " ".join(subject.split())[:255],
                "guideline": self.edition.guideline,
                "edition": self.edition,
                "previous": self.previous,
                "correction": correction,
                "compare_url": self._url("guidelines:compare", old=self.previous.slug, new=self.edition.slug),
                "changes": mark_safe(_CHANGES),  # replaced by rendered, escaped parts
                "manage_url": _MANAGE,
                "unsubscribe_url": _UNSUBSCRIBE,
                "site_url": settings.SITE_URL,
                "SOCIETY_NAME": settings.SOCIETY_NAME,
            }
            self.wrappers[language] = (
                context["subject"],
                render_to_string("guidelines/email/alert.html", context),
                render_to_string("guidelines/email/alert.txt", context),
            )
        return self.wrappers[language]

    def body(self, language, indices: tuple[int, ...]):
        key = (language, indices)
        if key not in self.bodies:
            labels = {
                CHANGED: _("Changed"),
                ADDED: _("Added"),
                REMOVED: _("Removed"),
                MOVED: _("Moved or renumbered"),
            }
            html, text, previous_group = [], [], None
            for position, index in enumerate(indices):
                group = self.changes[index].status
                if group != previous_group:
                    html.append(render_to_string("guidelines/email/_alert_group.html", {"label": labels[group]}))
                    text.append(f"\n== {labels[group]} ==\n\n")
                    previous_group = group
                part_html, part_text = self._change(index, language, inline=position < MAX_INLINE_REDLINES)
                html.append(part_html)
                text.append(part_text)
            self.bodies[key] = ("".join(html), "".join(text))
        return self.bodies[key]

    def email(self, *, to: str, language: str, indices: tuple[int, ...], issued_at: float) -> OutgoingEmail:
        with translation.override(language):
            subject, html, text = self.wrapper(language)
            changes_html, changes_text = self.body(language, indices)
            links = alert_link_urls(email=to, guideline_id=self.edition.guideline_id, issued_at=issued_at)
        fill = {_MANAGE: links["manage_url"], _UNSUBSCRIBE: links["unsubscribe_url"]}
        for placeholder, value in fill.items():
            html, text = html.replace(placeholder, value), text.replace(placeholder, value)
        return OutgoingEmail(
            to=to,
            subject=subject,
            html_body=html.replace(_CHANGES, changes_html),
            text_body=text.replace(_CHANGES, changes_text),
            kind=ALERT_KIND,
            related_key=f"edition:{self.edition.pk}",
            idempotency_key=alert_key(edition_id=self.edition.pk, email=to),
            headers={
                # RFC 8058: a mail client's "unsubscribe" button POSTs to this URL, with no login.
                "List-Unsubscribe": f"<{links['unsubscribe_url']}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )


def alert_key(*, edition_id: int, email: str) -> str:
    # Hashed: the key is unique and short whatever the address, and does not repeat it.
    return f"guideline-alert:{edition_id}:{hashlib.sha256(email.encode()).hexdigest()[:40]}"


def _subscriber_batches(subscriptions, batch_size: int):
    """Rows of (email, provision_id, language) in batches that never split one address's subscriptions."""
    rows = subscriptions.order_by("email", "pk").values_list("email", "provision_id", "language")
    last = ""
    while True:
        batch = list(rows.filter(email__gt=last)[:batch_size])
        if not batch:
            return
        if len(batch) == batch_size:
            final = batch[-1][0]
            batch = [row for row in batch if row[0] != final] or list(rows.filter(email=final))
        last = batch[-1][0]
        yield batch


def edition_alerts_send(*, edition_id: int, batch_size: int = ALERT_BATCH) -> int:
    """Queue the alerts of a published edition; returns how many emails this run queued (0 when done before)."""
    run = AlertRun.objects.select_related("edition__guideline").filter(edition_id=edition_id).first()
    if run is None or run.finished_at is not None:
        return 0
    now = timezone.now()
    claimed = (
        AlertRun.objects.filter(pk=run.pk, finished_at__isnull=True)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
        .update(lease_expires_at=now + LEASE)
    )
    if not claimed:
        return 0  # another task is fanning this edition out right now
    edition = run.edition
    previous = previous_original(edition)
    queued = 0
    if previous is not None:
        changes, followers = edition_changes(previous, edition)
        if changes:
            queued = _fan_out(run, edition, previous, changes, followers, batch_size)
    AlertRun.objects.filter(pk=run.pk, finished_at__isnull=True).update(
        finished_at=timezone.now(), lease_expires_at=None
    )
    return queued


def _fan_out(run, edition, previous, changes, followers, batch_size) -> int:
    renderer = _Renderer(edition, previous, changes)
    everything = tuple(range(len(changes)))
    subscriptions = AlertSubscription.objects.active().filter(
        Q(provision__isnull=True) | Q(provision_id__in=list(followers)), guideline_id=edition.guideline_id
    )
    issued_at, queued = time.time(), 0
    for batch in _subscriber_batches(subscriptions, batch_size):
        wanted, languages = defaultdict(set), {}
        for email, provision_id, language in batch:
            wanted[email].update(everything if provision_id is None else followers[provision_id])
            languages[email] = language  # the latest subscription's language (rows come in pk order)
        emails = [
            renderer.email(to=email, language=languages[email], indices=tuple(sorted(indices)), issued_at=issued_at)
            for email, indices in wanted.items()
        ]
        with transaction.atomic():
            AlertRun.objects.select_for_update().filter(pk=run.pk).first()
            keys = [email.idempotency_key for email in emails]
            done = set(OutgoingEmail.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True))
            new = emails_enqueue_bulk([email for email in emails if email.idempotency_key not in done])
            queued += len(new)
            AlertRun.objects.filter(pk=run.pk).update(
                emails_queued=F("emails_queued") + len(new), lease_expires_at=timezone.now() + LEASE
            )
    return queued
