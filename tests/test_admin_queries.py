"""Every admin page the project registers runs as many queries for 20 rows as for 2.

The models come from the admin registry itself, so a new ModelAdmin fails here until it has a row builder
below, and then until its changelist and change page stop running a query per row."""

import datetime
import re
from collections import Counter
from decimal import Decimal
from itertools import count

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_countries import countries

from guidelines.models import AlertSubscription, Edition, WebhookDelivery, WebhookEndpoint
from members.models import (
    Announcement,
    AutoRenew,
    AutoRenewSettings,
    CountryBand,
    Membership,
    MembershipType,
    Order,
    OrderStatus,
    Payment,
    PaymentMethod,
    ReminderDelivery,
    ReminderRule,
    StripeEvent,
    Term,
)
from society.models import Export, ExportStatus, JobHeartbeat, OutgoingEmail, SuppressedAddress
from tests.factories import (
    PRICES,
    MembershipTypeFactory,
    OrderFactory,
    PriceFactory,
    UserFactory,
)
from tests.guidelines.factories import EditionFactory, GuidelineFactory, ProvisionFactory, ProvisionVersionFactory
from tests.society.factories import NewsArticleFactory, PageFactory, TopicFactory

pytestmark = pytest.mark.django_db

PROJECT_APPS = {"members", "guidelines", "society"}
# Settings models holding exactly one row (a database constraint): their changelist has no "20 rows".
SINGLETONS = {AutoRenewSettings}
FEW, MANY = 2, 20
serial = count(1)


def registered_models():
    models = [model for model in admin.site._registry if model._meta.app_label in PROJECT_APPS]
    return sorted(models, key=lambda model: model._meta.label)


# --- Rows with everything their pages show ------------------------------------------------------------


def membership_with_history(related: int) -> Membership:
    """A membership with `related` paid terms (each with its order) and reminders sent."""
    membership = Membership.objects.create(user=UserFactory())
    membership_type = MembershipTypeFactory()
    now = timezone.now()
    for index in range(related):
        order = OrderFactory(
            number=f"Q-{next(serial):06d}",
            membership=membership,
            membership_type=membership_type,
            status=OrderStatus.PAID,
            paid_at=now,
        )
        year = 1900 + index
        term = Term.objects.create(
            membership=membership,
            membership_type=membership_type,
            start=datetime.date(year, 1, 1),
            end=datetime.date(year, 12, 31),
            order=order,
        )
        ReminderDelivery.objects.create(membership=membership, term=term, rule=reminder_rule(), email=email())
    return membership


def payment(order=None) -> Payment:
    return Payment.objects.create(
        order=order or OrderFactory(),
        amount=Decimal("10.00"),
        currency="USD",
        received_on=datetime.date(2026, 11, 2),
        method=PaymentMethod.CHEQUE,
        reference=f"CHQ {next(serial)}",
        recorded_by=UserFactory(),
    )


def order_with_payments(related: int) -> Order:
    order = membership_with_history(1).orders.get()
    for _index in range(related):
        payment(order)
    return order


def reminder_rule() -> ReminderRule:
    n = next(serial)
    return ReminderRule.objects.create(
        name=f"Rule {n}", offset_days=n % 700 - 350, is_active=False, subject_template="S", text_template="T"
    )


def email() -> OutgoingEmail:
    n = next(serial)
    return OutgoingEmail.objects.create(to=f"m{n}@example.org", subject=f"Subject {n}", text_body="Body", kind="test")


def stripe_event() -> StripeEvent:
    n = next(serial)
    return StripeEvent.objects.create(event_id=f"evt_{n}", type="checkout.session.completed", order=OrderFactory())


def country_band() -> CountryBand:
    code = list(countries)[next(serial) % 240].code
    return CountryBand.objects.get_or_create(country=code, defaults={"band": "high"})[0]


def user_in_groups(related: int):
    user = UserFactory()
    user.groups.set([Group.objects.create(name=f"Group {next(serial)}") for _ in range(related)])
    return user


def type_with_prices(related: int) -> MembershipType:
    membership_type = MembershipTypeFactory(name=f"Type {next(serial)}")
    for band in list(PRICES)[:related]:  # one price per band: at most four
        PriceFactory(membership_type=membership_type, band=band)
    return membership_type


def draft_edition(related: int) -> Edition:
    """A draft of `related` provisions, each but the first under the first (both autocomplete fields set)."""
    edition = EditionFactory()
    part = ProvisionVersionFactory(edition=edition)
    ProvisionVersionFactory.create_batch(related - 1, edition=edition, parent=part.provision)
    return edition


def article_with_topics(related: int):
    article = NewsArticleFactory(topics=[TopicFactory() for _ in range(related)])
    article.related_editions.set([EditionFactory() for _ in range(related)])
    return article


def auto_renew() -> AutoRenew:
    n = next(serial)
    return AutoRenew.objects.create(
        membership=Membership.objects.create(user=UserFactory()),
        enabled=True,
        stripe_customer=f"cus_{n}",
        payment_method=f"pm_{n}",
        card_brand="visa",
        card_last4="4242",
        card_exp_month=12,
        card_exp_year=2030,
    )


def webhook_endpoint() -> WebhookEndpoint:
    provision = ProvisionFactory()
    return WebhookEndpoint.objects.create(
        name=f"Institute {next(serial)}",
        url="https://hooks.example.org/society",
        guideline=provision.guideline,
        provision=provision,
    )


def webhook_delivery() -> WebhookDelivery:
    endpoint = webhook_endpoint()
    return WebhookDelivery.objects.create(
        endpoint=endpoint, edition=EditionFactory(guideline=endpoint.guideline), event="edition.published", body="{}"
    )


def alert_subscription() -> AlertSubscription:
    n = next(serial)
    provision = ProvisionFactory()
    return AlertSubscription.objects.create(
        email=f"r{n}@lab.example", guideline=provision.guideline, provision=provision
    )


def heartbeat() -> JobHeartbeat:
    return JobHeartbeat.objects.create(name=f"job-{next(serial)}", last_run_at=timezone.now(), last_result={"ok": 1})


def export() -> Export:
    """Exports of everyone (the superuser sees them all), each in another state, one of them ready."""
    n = next(serial)
    status = [ExportStatus.QUEUED, ExportStatus.RUNNING, ExportStatus.DONE, ExportStatus.FAILED][n % 4]
    return Export.objects.create(
        source="members.membership",
        title=f"Export {n}",
        requested_by=UserFactory(is_staff=True),
        status=status,
        rows_total=100,
        rows_done=50,
        file=f"exports/{n}/memberships.csv" if status == ExportStatus.DONE else "",
        error="Broken" if status == ExportStatus.FAILED else "",
    )


def announcement(types: int = 1) -> Announcement:
    row = Announcement.objects.create(subject="News", body="Dear members", created_by=UserFactory(), bands=["high"])
    row.membership_types.set([MembershipTypeFactory(name=f"Type {next(serial)}") for _ in range(types)])
    return row


def suppressed() -> SuppressedAddress:
    return SuppressedAddress.objects.create(address=f"gone{next(serial)}@lab.example", reason="550 user unknown")


# One row of the changelist (`row()`), and one object for the change page with `related` rows under it.
PAGES = {
    "members.User": (UserFactory, user_in_groups),
    "members.Membership": (lambda: membership_with_history(1), membership_with_history),
    "members.Order": (OrderFactory, order_with_payments),
    "members.Payment": (payment, lambda related: payment()),
    "members.StripeEvent": (stripe_event, lambda related: stripe_event()),
    "members.ReminderRule": (reminder_rule, lambda related: reminder_rule()),
    "members.ReminderDelivery": (
        lambda: membership_with_history(1).reminder_deliveries.get(),
        lambda related: membership_with_history(related).reminder_deliveries.first(),
    ),
    "members.MembershipType": (lambda: type_with_prices(1), type_with_prices),
    "members.Price": (
        lambda: type_with_prices(1).prices.get(),
        lambda related: type_with_prices(related).prices.first(),
    ),
    "members.CountryBand": (country_band, lambda related: country_band()),
    "members.AutoRenew": (auto_renew, lambda related: auto_renew()),
    "members.AutoRenewSettings": (AutoRenewSettings.current, lambda related: AutoRenewSettings.current()),
    "guidelines.Guideline": (GuidelineFactory, lambda related: GuidelineFactory()),
    "guidelines.Provision": (ProvisionFactory, lambda related: ProvisionFactory()),
    "guidelines.Edition": (lambda: draft_edition(1), draft_edition),
    "guidelines.AlertSubscription": (alert_subscription, lambda related: alert_subscription()),
    "guidelines.WebhookEndpoint": (webhook_endpoint, lambda related: webhook_endpoint()),
    "guidelines.WebhookDelivery": (webhook_delivery, lambda related: webhook_delivery()),
    "society.JobHeartbeat": (heartbeat, lambda related: heartbeat()),
    "society.Export": (export, lambda related: export()),
    "society.OutgoingEmail": (email, lambda related: email()),
    "society.SuppressedAddress": (suppressed, lambda related: suppressed()),
    "members.Announcement": (announcement, announcement),
    "society.Topic": (TopicFactory, lambda related: TopicFactory()),
    "society.NewsArticle": (lambda: article_with_topics(1), article_with_topics),
    "society.Page": (PageFactory, lambda related: PageFactory()),
}


def queries_of(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return [query["sql"] for query in queries.captured_queries]


def shape(sql: str) -> str:
    return re.sub(r"'[^']*'|\b\d+\b|_django_curs_\w+", "?", sql)


def assert_same_count(few, many):
    """On failure, name the statements the larger page ran more often: the N+1."""
    few_shapes, many_shapes = Counter(map(shape, few)), Counter(map(shape, many))
    extra = [f"{times}x {sql}" for sql, times in (many_shapes - few_shapes).items()]
    assert len(many) == len(few), "\n\n".join(extra)


def test_every_registered_admin_has_a_row_builder():
    assert {model._meta.label for model in registered_models()} == set(PAGES)


@pytest.mark.parametrize("model", registered_models(), ids=lambda model: model._meta.label)
def test_the_changelist_runs_as_many_queries_for_20_rows_as_for_2(superuser_client, model):
    row, _object = PAGES[model._meta.label]
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    if model in SINGLETONS:
        row()  # one row by construction: its page must simply load
        assert_same_count(queries_of(superuser_client, url), queries_of(superuser_client, url))
        assert model._default_manager.count() == 1
        return
    for _ in range(FEW):
        row()
    superuser_client.get(url)  # the first request fills per-process caches (content types, the site)
    few = queries_of(superuser_client, url)
    for _ in range(MANY - FEW):
        row()
    many = queries_of(superuser_client, url)
    assert model._default_manager.count() >= MANY
    assert_same_count(few, many)


@pytest.mark.parametrize("model", registered_models(), ids=lambda model: model._meta.label)
def test_the_change_page_runs_as_many_queries_for_20_related_rows_as_for_2(superuser_client, model):
    _row, with_related = PAGES[model._meta.label]
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}_change"
    few_url = reverse(name, args=[with_related(FEW).pk])
    superuser_client.get(few_url)
    few = queries_of(superuser_client, few_url)
    # Measured after more rows exist everywhere, so a select listing the whole table would show too.
    many_url = reverse(name, args=[with_related(MANY).pk])
    assert_same_count(few, queries_of(superuser_client, many_url))


def test_the_draft_edition_page_still_shows_each_rows_provision_and_parent(superuser_client):
    edition = draft_edition(3)
    page = superuser_client.get(reverse("admin:guidelines_edition_change", args=[edition.pk])).content.decode()
    for version in edition.versions.select_related("provision", "parent"):
        assert f'<option value="{version.provision_id}" selected>{version.provision.slug}</option>' in page
    parent = edition.versions.exclude(parent=None).first().parent
    assert page.count(f'<option value="{parent.pk}" selected>{parent.slug}</option>') == 3  # its own row, two children
