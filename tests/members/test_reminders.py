"""Renewal reminders: what is due (frozen time), exactly once (twice, concurrently, end to end)."""

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from members.forms.reminders import PreviewForm
from members.models import (
    CountryBand,
    Price,
    ReminderDelivery,
    ReminderRule,
    Term,
)
from members.services.reminders import reminders_due, renewal_reminders_send
from society.health import REMINDER_JOB
from society.models import OutgoingEmail, OutgoingEmailStatus
from society.services.jobs import heartbeat_record
from society.services.mail import outgoing_email_send
from tests.factories import MembershipTypeFactory, TermFactory, UserFactory, default_reminder_rules
from tests.workers import wait_for

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 3, 2)
FROZEN = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def rules(db):
    # Created here, not taken from the data migration: transactional tests flush migration rows.
    return default_reminder_rules()


@pytest.fixture
def frozen():
    with time_machine.travel(FROZEN, tick=False):
        yield


def term_ending(end, **user_fields):
    return TermFactory(end=end, membership__user=UserFactory(**user_fields))


def due_offsets(today=TODAY):
    rules = {rule.pk: rule for rule in ReminderRule.objects.active()}
    return {
        term.pk: rules[term.due_rule_id].offset_days for term in reminders_due(today=today, rules=list(rules.values()))
    }


def deliver_all():
    for pk in OutgoingEmail.objects.queued().values_list("pk", flat=True):
        outgoing_email_send(email_id=pk)


# --- What is due --------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-60, -30, -7, 0, 14])
def test_each_rule_is_due_on_its_day(rules, offset):
    term = term_ending(TODAY - dt.timedelta(days=offset))
    assert due_offsets() == {term.pk: offset}


def test_nothing_is_due_the_day_before_the_first_reminder(rules):
    term_ending(TODAY + dt.timedelta(days=61))
    assert due_offsets() == {}


def _renewed(term):
    TermFactory(
        membership=term.membership, start=term.end + dt.timedelta(days=1), end=term.end + dt.timedelta(days=365)
    )


def _cancelled(term):
    term.membership.cancelled_at = timezone.now()
    term.membership.cancel_reason = "Retired"
    term.membership.save()


def _erased(term):
    term.membership.user.is_active = False
    term.membership.user.save()


@pytest.mark.parametrize("change", [_renewed, _cancelled, _erased])
def test_renewed_cancelled_or_erased_members_get_nothing(rules, change):
    term = term_ending(TODAY + dt.timedelta(days=7))
    assert due_offsets() == {term.pk: -7}
    change(term)
    assert due_offsets() == {}


def test_after_an_outage_only_the_latest_due_rule_is_sent(rules):
    # The -60 and -30 reminders were missed (their dates are more than a week past); -7 is two days late.
    term = term_ending(TODAY + dt.timedelta(days=5))
    assert due_offsets() == {term.pk: -7}
    run = renewal_reminders_send(today=TODAY)
    assert run.per_rule["7 days before the end"] == 1
    assert run.total == 1
    # The next days bring nothing until the end-date rule is due.
    for day in range(1, 5):
        assert renewal_reminders_send(today=TODAY + dt.timedelta(days=day)).total == 0
    assert renewal_reminders_send(today=TODAY + dt.timedelta(days=5)).per_rule["On the end date"] == 1
    assert list(
        ReminderDelivery.objects.filter(term=term)
        .order_by("rule__offset_days")
        .values_list("rule__offset_days", flat=True)
    ) == [-7, 0]


def test_a_rule_more_than_a_week_late_is_not_sent(rules):
    term_ending(TODAY - dt.timedelta(days=22))  # the +14 reminder was due 8 days ago
    assert due_offsets() == {}


def test_a_missed_day_is_caught_up_by_the_next_run(rules):
    term = term_ending(TODAY + dt.timedelta(days=30))
    # No run on TODAY (the -30 day); the run the day after still sends it.
    assert due_offsets(TODAY + dt.timedelta(days=1)) == {term.pk: -30}


@pytest.mark.parametrize(("time_zone", "expected"), [("Pacific/Auckland", 0), ("UTC", -7)])
def test_the_society_time_zone_decides_the_day(rules, settings, time_zone, expected):
    settings.TIME_ZONE = time_zone
    term = term_ending(dt.date(2026, 3, 2))
    # 12:00 UTC on 1 March is already 01:00 on 2 March in Auckland: the end-date rule is due there.
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC), tick=False):
        run = renewal_reminders_send()
    assert ReminderDelivery.objects.get(term=term).rule.offset_days == expected
    assert run.total == 1


# --- The job ----------------------------------------------------------------------------


def test_running_the_job_twice_queues_one_email_per_member_and_rule(rules, frozen, django_capture_on_commit_callbacks):
    terms = [term_ending(TODAY + dt.timedelta(days=days)) for days in (60, 30, 7, 0, -14, 200)]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = renewal_reminders_send()
        second = renewal_reminders_send()
    assert first.total == 5
    assert second.total == 0
    assert OutgoingEmail.objects.filter(kind="reminder").count() == 5
    assert ReminderDelivery.objects.count() == 5
    assert not ReminderDelivery.objects.filter(term=terms[-1]).exists()
    assert len(callbacks) == 1  # one publish of the whole batch, after commit


@pytest.mark.parametrize("members", [10, 60])
def test_the_job_runs_a_fixed_number_of_queries(rules, frozen, django_assert_max_num_queries, members):
    for n in range(members):
        term_ending(TODAY + dt.timedelta(days=[60, 30, 7, 0, -14][n % 5]))
    # Lock, rules and their translations, the due query, INSERTs (deliveries, emails, renew links), the heartbeat
    # upsert, savepoints: none per member.
    with django_assert_max_num_queries(10):
        run = renewal_reminders_send()
    assert run.total == members


def test_the_member_receives_a_personal_multipart_email_in_their_language(rules, frozen, smtp_server, settings):
    settings.DEFAULT_FROM_EMAIL = "ISSCS <office@society.example>"
    settings.REPLY_TO_EMAIL = "membership@society.example"
    full = MembershipTypeFactory(name="Full")
    CountryBand.objects.update_or_create(country="DE", defaults={"band": "high"})
    Price.objects.create(membership_type=full, band="high", amount=Decimal("150.00"))
    user = UserFactory(full_name="Katharina Müller-Schmidt", preferred_name="Katha", country="DE", language="de")
    TermFactory(end=TODAY, membership__user=user, membership_type=full)

    renewal_reminders_send()
    deliver_all()

    assert smtp_server.handler.recipients() == {user.email: 1}
    message = smtp_server.handler.messages[0]
    email = OutgoingEmail.objects.get()
    assert message["Message-ID"] == email.message_id
    assert message["From"] == "ISSCS <office@society.example>"
    assert message["Reply-To"] == "membership@society.example"
    assert message["Subject"].endswith("endet heute")  # the rule's German text
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for part in (text, html):
        assert "Katha" in part
        assert "2. März 2026" in part  # the end date, formatted in German
        assert "150,00\xa0$" in part  # Babel's German currency format
    assert "/membership/" in html
    assert '<html lang="de">' in html


def test_two_processes_running_the_job_at_once_queue_each_reminder_once(rules, transactional_db, smtp_server, settings):
    today = timezone.localdate()
    terms = [term_ending(today + dt.timedelta(days=[60, 30, 7, 0, -14][n % 5])) for n in range(30)]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "society.settings.test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{settings.DATABASES['default']['NAME']}",
        # No broker: the rows wait in the outbox (as after an outage) and this test sends them.
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    command = [sys.executable, "manage.py", "send_renewal_reminders"]
    processes = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0]
    assert sorted("queued 30 reminder(s)" in output for output in outputs) == [False, True]

    deliver_all()
    assert smtp_server.handler.recipients() == {term.membership.user.email: 1 for term in terms}
    assert ReminderDelivery.objects.count() == 30


def test_beat_job_to_worker_to_smtp_end_to_end(rules, celery_worker, smtp_server):
    from members.tasks import send_renewal_reminders

    today = timezone.localdate()
    terms = [term_ending(today + dt.timedelta(days=days)) for days in (30, 7, 0)]
    send_renewal_reminders.delay()

    wait_for(lambda: smtp_server.handler.count() >= 3, message="three reminders at the SMTP server")
    wait_for(
        lambda: OutgoingEmail.objects.filter(status=OutgoingEmailStatus.SENT).count() == 3, message="rows marked sent"
    )
    assert smtp_server.handler.recipients() == {term.membership.user.email: 1 for term in terms}


# --- Command, heartbeat ----------------------------------------------------------------------


def test_dry_run_lists_who_would_get_what_and_sends_nothing(rules, frozen, capsys):
    term = term_ending(TODAY + dt.timedelta(days=7), email="ana@lab.example")
    call_command("send_renewal_reminders", "--dry-run")
    output = capsys.readouterr().out
    assert f"ana@lab.example\t7 days before the end\tterm ends {term.end.isoformat()}" in output
    assert "7 days before the end: would queue 1" in output
    assert not OutgoingEmail.objects.exists()
    assert not ReminderDelivery.objects.exists()


def test_command_prints_what_it_queued_per_rule(rules, frozen, capsys):
    term_ending(TODAY + dt.timedelta(days=30))
    term_ending(TODAY + dt.timedelta(days=30))
    call_command("send_renewal_reminders")
    output = capsys.readouterr().out
    assert "30 days before the end: queued 2" in output
    assert "60 days before the end: queued 0" in output
    assert OutgoingEmail.objects.count() == 2


@pytest.mark.django_db
def test_healthz_warns_when_the_reminder_job_has_not_run_for_26_hours(client):
    with time_machine.travel(FROZEN, tick=False):
        heartbeat_record(name=REMINDER_JOB, result={})
    with time_machine.travel(FROZEN + dt.timedelta(hours=25), tick=False):
        assert client.get("/healthz/").json()["reminders"] == "ok"
    with time_machine.travel(FROZEN + dt.timedelta(hours=27), tick=False):
        response = client.get("/healthz/")
    assert response.status_code == 200  # a warning for staff, not an outage
    assert response.json()["reminders"] == "warning: last ran 2026-03-02 09:00 UTC"


def test_the_job_records_its_heartbeat(rules, frozen):
    from society.models import JobHeartbeat

    renewal_reminders_send()
    heartbeat = JobHeartbeat.objects.get(name=REMINDER_JOB)
    assert heartbeat.last_run_at == FROZEN
    assert heartbeat.last_result["today"] == "2026-03-02"


# --- Rules and admin -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "source"),
    [
        ("text_template", "Dear {% if %}"),
        ("subject_template", "{{ end_date|no_such_filter }}"),
        ("html_template", "{% url 'nowhere' %}"),
    ],
)
def test_a_rule_whose_template_does_not_render_is_rejected(rules, field, source):
    rule = rules[0]
    setattr(rule, field, source)
    with pytest.raises(ValidationError) as error:
        rule.full_clean()
    assert field in error.value.message_dict


def test_admin_previews_a_rule_for_a_chosen_member(rules, frozen, superuser_client):
    term = term_ending(TODAY + dt.timedelta(days=30), full_name="Ana Souza", preferred_name="Ana", language="en")
    rule = next(rule for rule in rules if rule.offset_days == -30)
    response = superuser_client.get(
        reverse("admin:members_reminderrule_preview", args=[rule.pk]), {"member": term.membership.user.pk}
    )
    assert response.status_code == 200
    assert "Dear Ana," in response.text
    assert "April 1, 2026" in response.text or "1 April 2026" in response.text


@pytest.mark.parametrize("members", [5, 40])
def test_delivery_admin_changelist_runs_a_fixed_number_of_queries(
    rules, frozen, superuser_client, django_assert_max_num_queries, members
):
    for _ in range(members):
        term_ending(TODAY + dt.timedelta(days=7))
    renewal_reminders_send()
    with django_assert_max_num_queries(10):
        response = superuser_client.get(reverse("admin:members_reminderdelivery_changelist"))
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == members


def test_rule_form_documents_the_template_context_for_staff(rules, superuser_client):
    page = superuser_client.get(reverse("admin:members_reminderrule_change", args=[rules[0].pk])).content.decode()
    for variable in ["preferred_name", "full_name", "membership_type", "end_date", "price", "renew_url"]:
        assert "{{ " + variable + " }}" in page


def test_preview_for_a_member_whose_only_term_was_voided_says_there_is_no_current_term(rules, frozen, superuser_client):
    term = term_ending(TODAY + dt.timedelta(days=30), full_name="Rui Refunded")
    Term.objects.filter(pk=term.pk).update(voided_at=timezone.now(), void_reason="Refunded in Stripe")
    rule = next(rule for rule in rules if rule.offset_days == -30)
    url = reverse("admin:members_reminderrule_preview", args=[rule.pk])
    response = superuser_client.get(url, {"member": term.membership.user.pk})
    assert response.status_code == 200
    assert "This member has no current term" in response.text
    assert response.context["rendered"] is None
    # Unknown ids and junk get the same clear answer, never a 500.
    for junk in ["99999999999999999999", "-1", "x"]:
        assert superuser_client.get(url, {"member": junk}).status_code == 200


def test_preview_offers_only_members_a_rule_can_apply_to(rules, frozen):
    current = term_ending(TODAY + dt.timedelta(days=30)).membership.user
    voided = term_ending(TODAY + dt.timedelta(days=30))
    Term.objects.filter(pk=voided.pk).update(voided_at=timezone.now(), void_reason="Refunded")
    cancelled = term_ending(TODAY + dt.timedelta(days=30)).membership
    cancelled.cancelled_at, cancelled.cancel_reason = timezone.now(), "Deceased"
    cancelled.save()
    UserFactory()  # no membership at all
    assert list(PreviewForm(admin_site=admin.site).fields["member"].queryset) == [current]
