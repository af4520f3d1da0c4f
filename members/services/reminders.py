"""Renewal reminders: what is due (one set-based query), and sending it exactly once.

A rule is due for a member's latest term when end + offset falls within the last 7 days (society
TIME_ZONE) and that term has not had that rule. Of several due rules only the latest is sent, so a
member whose reminders were held up by an outage gets one email, not three. Nothing matches an exact
day: a run that is missed is caught up by the next one.
"""

import datetime
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BigIntegerField, Case, Exists, F, OuterRef, Subquery, Value, When
from django.template import Context, engines
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format
from django.utils.html import escape, linebreaks
from django.utils.safestring import mark_safe

from members.models import CountryBand, Price, ReminderDelivery, ReminderRule, Term, User
from members.models.memberships import society_today
from members.services.renew_links import may_use_renew_link, renew_links_create
from society.formats import format_money
from society.health import REMINDER_JOB
from society.models import OutgoingEmail
from society.services.jobs import heartbeat_record
from society.services.mail import emails_enqueue_bulk

logger = logging.getLogger(__name__)

# A reminder whose date passed more than this many days ago is not sent late.
STALE_AFTER_DAYS = 7
# Serialises concurrent runs (beat plus a manual command): the second waits, then finds nothing due.
# The unique (term, rule) delivery and the email's idempotency key are the guarantee either way.
ADVISORY_LOCK_KEY = 0x52454D49  # "REMI"


@dataclass
class CompiledText:
    subject: object
    text: object
    html: object | None

    @classmethod
    def of(cls, source) -> "CompiledText":
        """`source` is a rule (its English text) or one of its translations: the same three fields."""
        engine = engines["django"]
        return cls(
            subject=engine.from_string(source.subject_template).template,
            text=engine.from_string(source.text_template).template,
            html=engine.from_string(source.html_template).template if source.html_template.strip() else None,
        )


@dataclass
class CompiledRule:
    rule: ReminderRule
    english: CompiledText
    by_language: dict[str, CompiledText] = field(default_factory=dict)

    @classmethod
    def of(cls, rule: ReminderRule) -> "CompiledRule":
        """Compile the rule and its translations (prefetch `translations` when compiling many)."""
        return cls(
            rule=rule,
            english=CompiledText.of(rule),
            by_language={entry.language: CompiledText.of(entry) for entry in rule.translations.all()},
        )

    def render(self, context: dict, *, language: str | None = None) -> tuple[str, str, str]:
        """Subject, text and HTML (in the site's email layout) in `language` (the active one by default),
        English when the rule has no text in it. Text parts are not HTML-escaped."""
        language = language or translation.get_language()
        compiled = self.by_language.get(language, self.english)
        subject = " ".join(compiled.subject.render(Context(context, autoescape=False)).split())
        text = compiled.text.render(Context(context, autoescape=False)).strip()
        body = compiled.html.render(Context(context)) if compiled.html else linebreaks(escape(text))
        html = render_to_string("members/email/reminder.html", {**context, "subject": subject, "body": mark_safe(body)})
        return subject, text, html


def renew_url() -> str:
    return f"{settings.SITE_URL}{reverse('members:renew')}"


def reminder_context(*, user: User, term: Term, price=None, link: str | None = None) -> dict:
    """The documented template context, formatted in the member's language (call inside override).
    `link` is the member's personal renew link (renew_links_create); without it, the renew page's URL."""
    return {
        "preferred_name": user.preferred_name or user.full_name,
        "full_name": user.full_name,
        "membership_type": term.membership_type.name,
        "end_date": date_format(term.end, "DATE_FORMAT"),
        "price": format_money(price, settings.DUES_CURRENCY) if price is not None else "",
        "renew_url": link or renew_url(),
        "society_name": settings.SOCIETY_NAME,
    }


def renewal_price(*, user: User, term: Term):
    """The price of renewing `term`'s membership type for one year in the member's country band, or None."""
    band = CountryBand.objects.filter(country=user.country).values("band")[:1]
    return (
        Price.objects.filter(membership_type=term.membership_type_id, band=Subquery(band), years=1)
        .values_list("amount", flat=True)
        .first()
    )


def reminders_due(*, today: datetime.date, rules: list[ReminderRule]):
    """Latest terms with their latest due, not yet delivered rule (`due_rule_id`) and renewal price."""
    if not rules:
        return Term.objects.none()
    rules = sorted(rules, key=lambda rule: rule.offset_days, reverse=True)
    # A rule is due when today - 7 <= end + offset <= today, i.e. end in [today-7-offset, today-offset].
    # Whens are tried in order, so the latest rule wins when several are due.
    windows = [
        (
            rule,
            today - datetime.timedelta(days=rule.offset_days + STALE_AFTER_DAYS),
            today - datetime.timedelta(days=rule.offset_days),
        )
        for rule in rules
    ]
    due_rule = Case(
        *[When(end__gte=low, end__lte=high, then=Value(rule.pk)) for rule, low, high in windows],
        default=None,
        output_field=BigIntegerField(),
    )
    delivered = ReminderDelivery.objects.filter(term=OuterRef("pk"), rule=OuterRef("due_rule_id"))
    # Nested in the price subquery, hence the double OuterRef back to the term's member.
    band = CountryBand.objects.filter(country=OuterRef(OuterRef("membership__user__country"))).values("band")[:1]
    price = Price.objects.filter(membership_type=OuterRef("membership_type"), band=Subquery(band), years=1).values(
        "amount"
    )[:1]
    return (
        Term.objects.counting()
        .filter(
            # "No later term": the term is the membership's latest that counts, whose end the trigger keeps
            # in the indexed Membership.current_end, so the range is read from that index, not a subquery.
            membership__current_end__gte=min(low for _rule, low, _high in windows),
            membership__current_end__lte=max(high for _rule, _low, high in windows),
            end=F("membership__current_end"),
            membership__cancelled_at__isnull=True,
            membership__lifetime=False,  # a lifetime membership has nothing to renew
            membership__user__is_active=True,  # erased or deactivated accounts get nothing
        )
        .annotate(due_rule_id=due_rule)
        .filter(due_rule_id__isnull=False)
        .exclude(Exists(delivered))
        .annotate(price_amount=Subquery(price))
        .select_related("membership__user", "membership_type")
        .order_by("pk")
    )


@dataclass
class ReminderRun:
    today: datetime.date
    per_rule: dict[str, int] = field(default_factory=dict)
    planned: list[tuple[str, str, str]] = field(default_factory=list)  # (email, rule, end date)

    @property
    def total(self) -> int:
        return sum(self.per_rule.values())


def renewal_reminders_send(*, today: datetime.date | None = None, dry_run: bool = False) -> ReminderRun:
    """Write every due reminder to the outbox, each with its ReminderDelivery, in one transaction.

    Running it twice, or twice at once, sends nothing twice: runs take an advisory lock in turn, the
    due query skips what is delivered, and (term, rule) is unique in the database.
    """
    today = today or society_today()
    run = ReminderRun(today=today)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
        compiled = {
            rule.pk: CompiledRule.of(rule) for rule in ReminderRule.objects.active().prefetch_related("translations")
        }
        run.per_rule = {entry.rule.name: 0 for entry in sorted(compiled.values(), key=lambda c: c.rule.offset_days)}
        emails, deliveries = [], []
        due = list(reminders_due(today=today, rules=[entry.rule for entry in compiled.values()]))
        # Each email carries its own single-use link that signs the member in for renewal; staff, whom a
        # link never signs in, get the renew page (behind their normal login).
        links = (
            {}
            if dry_run
            else renew_links_create(
                user_ids=[term.membership.user_id for term in due if may_use_renew_link(term.membership.user)]
            )
        )
        plain_link = renew_url()
        for term in due:
            rule = compiled[term.due_rule_id]
            user = term.membership.user
            run.per_rule[rule.rule.name] += 1
            if dry_run:
                run.planned.append((user.email, rule.rule.name, term.end.isoformat()))
                continue
            with translation.override(user.language):
                subject, text, html = rule.render(
                    reminder_context(user=user, term=term, price=term.price_amount, link=links.get(user.pk, plain_link))
                )
            emails.append(
                OutgoingEmail(
                    to=user.email,
                    subject=subject[:255],
                    text_body=text,
                    html_body=html,
                    kind="reminder",
                    related_key=f"term:{term.pk}/rule:{rule.rule.pk}",
                    idempotency_key=f"reminder:{term.pk}:{rule.rule.pk}",
                )
            )
            deliveries.append(ReminderDelivery(membership_id=term.membership_id, term=term, rule=rule.rule))
        if dry_run:
            return run
        for email, delivery in zip(emails_enqueue_bulk(emails), deliveries, strict=True):
            delivery.email = email
        ReminderDelivery.objects.bulk_create(deliveries, batch_size=1000)
        heartbeat_record(name=REMINDER_JOB, result={"today": today.isoformat(), "queued": run.per_rule})
    logger.info("Renewal reminders for %s: %s", today, run.per_rule)
    return run
