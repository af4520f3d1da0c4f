"""A member whose language is Japanese gets every email in Japanese, whatever language the sender runs in
(staff's English admin, the hourly job, an English page). Needs locale/ja's "Amount paid" and receipt subject."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from members.models import CountryBand, Price
from members.services.payments import order_mark_paid
from members.services.reminders import renewal_reminders_send
from society.models import OutgoingEmail
from tests.factories import MembershipTypeFactory, OrderFactory, TermFactory, UserFactory, default_reminder_rules
from tests.outbox import deliver_outbox

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def compiled_catalogues():
    # The build compiles them (make test); compiling again here keeps the test honest when run alone.
    call_command("compilemessages", "--locale", "ja", "--ignore", ".venv", verbosity=0)


@pytest.fixture
def japanese_member(db):
    return UserFactory(full_name="山田 花子", country="JP", language="ja")


@time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC), tick=False)
def test_reminder_reaches_the_smtp_server_in_japanese(japanese_member, smtp_server):
    default_reminder_rules()
    full = MembershipTypeFactory(name="Full")
    CountryBand.objects.update_or_create(country="JP", defaults={"band": "high"})
    Price.objects.create(membership_type=full, band="high", amount=Decimal("1234.50"))
    TermFactory(end=TODAY, membership__user=japanese_member, membership_type=full)
    with translation.override("en"):  # the job's own language
        renewal_reminders_send()
    deliver_outbox()
    message = smtp_server.handler.messages[0]
    text = message.get_body(("plain",)).get_content()
    # The rule's Japanese text (reminder_defaults, data migration 0007), not its English one.
    assert "の会員資格は本日終了します" in str(message["subject"])
    assert "山田 花子 様" in text
    assert "会員資格は本日 2026年3月2日 に終了します" in text  # the end date, Japanese style
    assert "お住まいの国の更新料金: $1,234.50" in text
    assert "Dear" not in text
    assert "Renew" not in text
    assert '<html lang="ja">' in message.get_body(("html",)).get_content()


@time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC), tick=False)
def test_reminder_falls_back_to_english_for_a_language_the_rule_lacks(japanese_member):
    rule = next(rule for rule in default_reminder_rules() if rule.offset_days == 0)
    rule.translations.filter(language="ja").delete()
    german = UserFactory(full_name="Hanna Schmidt", country="DE", language="de")
    TermFactory(end=TODAY, membership__user=japanese_member)
    TermFactory(end=TODAY, membership__user=german)
    renewal_reminders_send()
    to_japanese = OutgoingEmail.objects.get(to=japanese_member.email)
    assert to_japanese.subject.endswith("membership ends today")
    assert "2026年3月2日" in to_japanese.text_body  # English words, the member's date format
    to_german = OutgoingEmail.objects.get(to=german.email)
    assert to_german.subject.endswith("endet heute")
    assert "Ihre Mitgliedschaft endet heute, am 2. März 2026." in to_german.text_body


def test_rule_admin_edits_translations_and_lists_missing_languages(superuser_client):
    rule = next(rule for rule in default_reminder_rules() if rule.offset_days == -7)
    rule.translations.filter(language__in=["ar", "pt"]).delete()
    changelist = superuser_client.get(reverse("admin:members_reminderrule_changelist"))
    assert "Portuguese, Arabic" in changelist.content.decode()
    url = reverse("admin:members_reminderrule_change", args=[rule.pk])
    page = superuser_client.get(url)
    assert page.status_code == 200
    data = {
        "name": rule.name,
        "offset_days": rule.offset_days,
        "is_active": "on",
        "subject_template": rule.subject_template,
        "text_template": rule.text_template,
        "html_template": rule.html_template,
    }
    inline = page.context["inline_admin_formsets"][0].formset
    prefix = inline.prefix
    data.update({f"{prefix}-TOTAL_FORMS": "6", f"{prefix}-INITIAL_FORMS": "5"})
    for index, existing in enumerate(inline.queryset):
        data.update(
            {
                f"{prefix}-{index}-id": existing.pk,
                f"{prefix}-{index}-rule": rule.pk,
                f"{prefix}-{index}-language": existing.language,
                f"{prefix}-{index}-subject_template": existing.subject_template,
                f"{prefix}-{index}-text_template": existing.text_template,
                f"{prefix}-{index}-html_template": existing.html_template,
            }
        )
    data.update(
        {
            f"{prefix}-5-rule": rule.pk,
            f"{prefix}-5-language": "pt",
            f"{prefix}-5-subject_template": "A sua filiação termina em {{ end_date }}",
            f"{prefix}-5-text_template": "Caro/a {{ preferred_name }}, renove: {{ renew_url }}",
        }
    )
    response = superuser_client.post(url, data)
    assert response.status_code == 302, response.context["errors"] if response.context else response
    assert rule.translations.get(language="pt").subject_template == "A sua filiação termina em {{ end_date }}"
    assert rule.missing_languages() == ["ar"]


@time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC), tick=False)
def test_receipt_sent_by_english_staff_is_in_japanese(japanese_member):
    term = TermFactory(membership__user=japanese_member, end=dt.date(2026, 1, 31))
    order = OrderFactory(membership=term.membership, amount=Decimal("200.00"), number="2026-000042")
    with translation.override("en"):
        order_mark_paid(order=order)
    receipt = OutgoingEmail.objects.get(kind="receipt")
    assert receipt.subject == "領収書 2026-000042：会費のお支払いを確認しました"
    assert "お支払い金額: $200.00" in receipt.text_body
    assert "2027年1月31日" in receipt.text_body  # the new term's end, Japanese style


def test_password_reset_asked_from_an_english_page_is_in_japanese(client, japanese_member):
    response = client.post(
        reverse("account_reset_password"), {"email": japanese_member.email}, headers={"accept-language": "en"}
    )
    assert response.status_code == 302
    email = OutgoingEmail.objects.get(kind="account")
    # allauth's own Japanese catalogue.
    assert email.subject == "パスワード再設定メール"
