"""Alerts on publish: one email per address with exactly the changes it follows, the redline in both parts,
through a real worker and a real SMTP server; exactly once; a fixed number of queries per batch."""

import datetime
from collections import Counter

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from guidelines.models import AlertRun, AlertSubscription, Edition
from guidelines.services import edition_publish
from guidelines.services.alert_fanout import ALERT_KIND, alert_runs_requeue, edition_alerts_send
from society.models import OutgoingEmail, OutgoingEmailStatus
from tests.guidelines.alerts import PUBLISHED_ON, follow, revise
from tests.guidelines.factories import build_edition
from tests.outbox import deliver_outbox
from tests.workers import wait_for

REDLINE_TEXT = "[-Investigators-]{+Researchers+}"
REDLINE_DEL = '<del style="background-color:#fde2e1;color:#7f1d1d;text-decoration:line-through">Investigators</del>'
REDLINE_INS = '<ins style="background-color:#dcfce7;color:#14532d;text-decoration:underline">Researchers</ins>'


def parts(message):
    return (
        message.get_body(preferencelist=("plain",)).get_content(),
        message.get_body(preferencelist=("html",)).get_content(),
    )


def test_publish_sends_each_follower_exactly_what_they_follow_once_through_a_worker_and_smtp(
    celery_worker, smtp_server
):
    old = build_edition(provisions=10)
    follow("whole@lab.example", old)
    follow("part2@lab.example", old, "part-2")
    follow("section0@lab.example", old, "section-0")
    follow("two@lab.example", old, "section-0")
    follow("two@lab.example", old, "section-2")
    follow("unchanged@lab.example", old, "section-3")
    follow("pending@lab.example", old, status=AlertSubscription.Status.PENDING)
    follow("cancelled@lab.example", old, status=AlertSubscription.Status.CANCELLED)
    follow("other@lab.example", build_edition(label="2019"))

    edition_publish(edition=revise(old), published_on=PUBLISHED_ON)

    expected = {"whole@lab.example", "part2@lab.example", "section0@lab.example", "two@lab.example"}
    wait_for(
        lambda: OutgoingEmail.objects.filter(kind=ALERT_KIND, status=OutgoingEmailStatus.SENT).count() == len(expected),
        message="the alerts to be sent",
    )
    assert smtp_server.handler.recipients() == Counter(dict.fromkeys(expected, 1))
    received = {str(message["To"]): message for message in smtp_server.handler.messages}

    whole_text, whole_html = parts(received["whole@lab.example"])
    for heading in ("Section heading 0", "1.9 Section heading 2", "2.9 Section heading 4", "Section heading 6"):
        assert heading in whole_text
    assert "Sharing of consent forms" in whole_text
    assert "Section heading 1" not in whole_text  # unchanged provisions are not listed
    assert REDLINE_TEXT in whole_text
    assert REDLINE_DEL in whole_html
    assert REDLINE_INS in whole_html

    part2_text, _html = parts(received["part2@lab.example"])
    assert "2.9 Section heading 4" in part2_text  # moved into part 2
    assert "Sharing of consent forms" in part2_text  # added to part 2
    assert "Section heading 0" not in part2_text
    assert "Section heading 6" not in part2_text

    section0_text, section0_html = parts(received["section0@lab.example"])
    assert REDLINE_TEXT in section0_text
    assert REDLINE_DEL in section0_html
    assert "Section heading 2" not in section0_text
    assert "/2016/section-0/" not in section0_text
    assert "/2021/section-0/" in section0_text
    assert "/compare/2016/2021/" in section0_text

    two_text, _html = parts(received["two@lab.example"])
    assert "Section heading 0" in two_text
    assert "Renumbered from 1.2 to 1.9" in two_text

    message = received["whole@lab.example"]
    assert message["Subject"] == f"{old.guideline.title}: what changed in 2021"
    unsubscribe = str(message["List-Unsubscribe"]).strip()
    assert unsubscribe.startswith(f"<{settings.SITE_URL}/alerts/unsubscribe/")
    assert unsubscribe.endswith("/>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/alerts/manage/" in whole_text
    assert "/alerts/manage/" in whole_html
    assert AlertRun.objects.get(edition__slug="2021").finished_at is not None


@pytest.mark.django_db
def test_a_correction_says_so_in_the_subject(django_capture_on_commit_callbacks):
    old = build_edition(provisions=10)
    follow("whole@lab.example", old)
    with django_capture_on_commit_callbacks(execute=False):
        correction = edition_publish(edition=revise(old, kind=Edition.Kind.CORRECTION), published_on=PUBLISHED_ON)
    assert edition_alerts_send(edition_id=correction.pk) == 1
    deliver_outbox()
    assert mail.outbox[0].subject == f"Correction to {old.guideline.title}: what changed in 2021"
    assert "This edition is a correction." in mail.outbox[0].body


@pytest.mark.django_db
def test_past_the_inline_limit_a_changed_provision_is_listed_with_a_link_to_its_comparison(
    django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("guidelines.services.alert_fanout.MAX_INLINE_REDLINES", 0)
    old = build_edition(provisions=10)
    follow("whole@lab.example", old)
    with django_capture_on_commit_callbacks(execute=False):
        new = edition_publish(edition=revise(old), published_on=PUBLISHED_ON)
    edition_alerts_send(edition_id=new.pk)
    email = OutgoingEmail.objects.get()
    assert REDLINE_TEXT not in email.text_body
    assert "<del" not in email.html_body
    assert f"/guidelines/{old.guideline.slug}/compare/2016/2021/section-0/" in email.html_body


@pytest.mark.django_db
def test_followers_of_unchanged_provisions_and_of_a_first_edition_get_nothing(django_capture_on_commit_callbacks):
    old = build_edition(provisions=10)
    follow("unchanged@lab.example", old, "section-3")
    follow("part1@lab.example", old, "part-1")
    with django_capture_on_commit_callbacks(execute=False):
        new = edition_publish(edition=revise(old), published_on=PUBLISHED_ON)
    assert edition_alerts_send(edition_id=old.pk) == 0  # nothing before it to compare with
    assert edition_alerts_send(edition_id=new.pk) == 1
    assert list(OutgoingEmail.objects.values_list("to", flat=True)) == ["part1@lab.example"]


@pytest.mark.django_db
def test_the_alert_is_in_the_followers_language(django_capture_on_commit_callbacks):
    old = build_edition(provisions=10)
    follow("lectora@lab.example", old, "section-0", language="es")
    with django_capture_on_commit_callbacks(execute=False):
        new = edition_publish(edition=revise(old), published_on=PUBLISHED_ON)
    edition_alerts_send(edition_id=new.pk)
    text = OutgoingEmail.objects.get().text_body
    assert f"/es/guidelines/{old.guideline.slug}/2021/section-0/" in text


@pytest.mark.django_db
def test_a_second_run_of_the_same_edition_sends_nothing_more(django_capture_on_commit_callbacks):
    old = build_edition(provisions=10)
    follow("whole@lab.example", old)
    follow("section0@lab.example", old, "section-0")
    with django_capture_on_commit_callbacks(execute=False):
        new = edition_publish(edition=revise(old), published_on=PUBLISHED_ON)
    assert edition_alerts_send(edition_id=new.pk) == 2
    assert edition_alerts_send(edition_id=new.pk) == 0
    # Even a run that never recorded its end (a worker killed after queuing) finds the emails by their keys.
    AlertRun.objects.filter(edition=new).update(finished_at=None)
    assert edition_alerts_send(edition_id=new.pk) == 0
    assert OutgoingEmail.objects.filter(kind=ALERT_KIND).count() == 2


@pytest.mark.django_db
def test_publishing_a_translation_sends_no_alerts(django_capture_on_commit_callbacks):
    old = build_edition(provisions=4)
    with django_capture_on_commit_callbacks(execute=False):
        translation = build_edition(guideline=old.guideline, label="2016 es", provisions=4, publish=False)
        Edition.objects.filter(pk=translation.pk).update(translation_of=old, language="es")
        edition_publish(edition=translation)
    assert not AlertRun.objects.filter(edition=translation).exists()


def _publish_with_followers(count, label):
    old = build_edition(provisions=10, label=f"{label}-old")
    slugs = [None, "part-1", "part-2", "section-0", "section-2", "section-4"]
    for index in range(count):
        follow(f"reader{index}@{label}.example", old, slugs[index % len(slugs)], language=["en", "fr"][index % 2])
    return edition_publish(edition=revise(old, label=f"{label}-new"), published_on=PUBLISHED_ON)


@pytest.mark.django_db
def test_the_fan_out_runs_the_same_queries_for_twenty_or_three_hundred_followers(
    django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    with django_capture_on_commit_callbacks(execute=False):
        small = _publish_with_followers(20, "small")
        large = _publish_with_followers(300, "large")
    with CaptureQueriesContext(connection) as queries:
        assert edition_alerts_send(edition_id=small.pk) == 20
    with django_assert_max_num_queries(len(queries)):
        assert edition_alerts_send(edition_id=large.pk) == 300


@pytest.mark.django_db
def test_each_batch_adds_a_fixed_number_of_queries(django_capture_on_commit_callbacks, django_assert_max_num_queries):
    with django_capture_on_commit_callbacks(execute=False):
        one_batch = _publish_with_followers(60, "one")
        six_batches = _publish_with_followers(60, "six")
    with CaptureQueriesContext(connection) as queries:
        edition_alerts_send(edition_id=one_batch.pk, batch_size=100)
    # Read, savepoint, lock, known keys, insert, release, count: none per subscriber. Batches of 10 rows make 7
    # batches of 60 addresses, since a batch gives back its last address to the next rather than split it.
    per_batch = 7
    with django_assert_max_num_queries(len(queries) + 6 * per_batch):
        assert edition_alerts_send(edition_id=six_batches.pk, batch_size=10) == 60


@pytest.mark.django_db
def test_the_sweep_queues_again_only_runs_left_unfinished_and_unclaimed(django_capture_on_commit_callbacks):
    old = build_edition(provisions=10)
    follow("whole@lab.example", old)
    with django_capture_on_commit_callbacks(execute=False):
        new = edition_publish(edition=revise(old), published_on=PUBLISHED_ON)
    assert alert_runs_requeue() == 0  # just published: its own task is on the way
    AlertRun.objects.filter(edition=new).update(created_at=timezone.now() - datetime.timedelta(minutes=3))
    assert alert_runs_requeue() == 1
    AlertRun.objects.filter(edition=new).update(lease_expires_at=timezone.now() + datetime.timedelta(minutes=1))
    assert alert_runs_requeue() == 0  # a task is fanning it out now
    assert edition_alerts_send(edition_id=new.pk) == 0  # nor does a second task start beside it
    AlertRun.objects.filter(edition=new).update(lease_expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert alert_runs_requeue() == 1  # that task's worker died
    assert edition_alerts_send(edition_id=new.pk) == 1
    assert alert_runs_requeue() == 0
