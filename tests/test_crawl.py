"""A hostile input generator's tour of the site: every URL pattern, every path parameter and the query
parameters views read, filled with NUL bytes, invalid UTF-8, 5,000 characters, negative and huge numbers,
as an anonymous visitor, a member and staff. Whatever the answer is (400, 403, 404, a redirect), it is
never a 5xx."""

import datetime
from urllib.parse import quote

import pytest
from django.contrib import admin

from members.models import ReminderRule
from members.services.payments import order_create, order_mark_paid
from tests.clients import Client
from tests.crawl import HOSTILE_VALUES, all_patterns
from tests.factories import StaffFactory, UserFactory, price_matrix
from tests.guidelines.factories import build_edition
from tests.society.factories import NewsArticleFactory, PageFactory, TopicFactory

# Query parameters the site's views and the admin read, sent together with the same hostile value.
QUERY_PARAMETERS = [
    "q",
    "page",
    "p",
    "o",
    "e",
    "topic",
    "country",
    "language",
    "checkout",
    "member",
    "next",
    "_changelist_filters",
    "_to_field",
    "_popup",
]


@pytest.fixture
def orcid_configured(settings):
    """ORCID sign-in as in production, so its login and callback views are crawled past their configuration
    check. (Without credentials those URLs must be a 404: tests/members/test_orcid.py.)"""
    settings.SOCIALACCOUNT_PROVIDERS = {"orcid": {"APPS": [{"client_id": "APP-TEST", "secret": "s3cret", "key": ""}]}}


@pytest.fixture
def site(db, orcid_configured):
    """One of everything a URL can name, so a valid parameter lets the hostile one next to it be reached."""
    full = price_matrix("Full")["Full"]
    member = UserFactory(country="DE")
    order = order_create(user=member, membership_type=full, provider="invoice")
    order_mark_paid(order=order, provider_reference="", paid_at=datetime.datetime(2026, 1, 5, tzinfo=datetime.UTC))
    edition = build_edition(provisions=4)
    topic = TopicFactory()
    article = NewsArticleFactory(topics=[topic])
    page = PageFactory()
    staff = StaffFactory(is_superuser=True)
    rule = ReminderRule.objects.order_by("pk").first()
    values = {
        "guideline": edition.guideline.slug,
        "edition": edition.slug,
        "old": edition.slug,
        "new": edition.slug,
        "provision": "section-0",
        "slug": article.slug,
        "pk": str(article.pk),
        "number": order.number,
        "section": "news",
        "app_label": "members",
        "rule_id": str(rule.pk) if rule else "1",
    }
    return {"member": member, "staff": staff, "values": values, "page": page}


def object_ids() -> dict[str, str]:
    """The pk of a row of each admin model, by the prefix of the model's admin URL names."""
    ids = {}
    for model in admin.site._registry:
        row = model._default_manager.order_by("pk").first()
        ids[f"{model._meta.app_label}_{model._meta.model_name}_"] = str(row.pk) if row else "1"
    return ids


def client_as(role: str, site) -> Client:
    # A 500 is counted as a status code, not raised, so one test run lists every failing URL.
    client = Client(raise_request_exception=False)
    if role != "anonymous":
        client.force_login(site[role])  # staff have TOTP set up (StaffFactory), so the admin opens
    if role == "staff":
        # Staff crawl the admin as staff who passed MFA; a redirect here would silently skip every admin URL.
        assert client.get("/admin/").status_code == 200
    return client


def failures_of(client: Client, urls: list[str]) -> str:
    failed = [(response.status_code, url) for url in urls if (response := client.get(url)).status_code >= 500]
    return "\n".join(f"{status} {url[:200]}" for status, url in failed)


def urls_to_try(site) -> list[str]:
    """One URL per pattern and hostile value: every query parameter hostile, and one path parameter hostile
    (the others valid, so the view gets as far as that one). Each value picks the next path parameter, so
    every parameter of a pattern with several gets hostile values too."""
    ids = object_ids()
    query = "&".join(f"{name}={{value}}" for name in QUERY_PARAMETERS)
    urls = []
    for pattern in all_patterns():
        object_id = next((pk for prefix, pk in ids.items() if pattern.name.startswith(prefix)), "1")
        valid = {**site["values"], "object_id": object_id}
        for index, value in enumerate(HOSTILE_VALUES.values()):
            hostile = {pattern.parameters[index % len(pattern.parameters)]: value} if pattern.parameters else {}
            urls.append(pattern.fill({**valid, **hostile}, default="x") + "?" + query.format(value=value))
    return urls


def changelist_filter_urls(staff_client) -> list[str]:
    """Every admin changelist (and the membership export) with each of its filter parameters hostile."""
    urls = []
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = f"/admin/{opts.app_label}/{opts.model_name}/"
        context = staff_client.get(changelist).context
        parameters = [name for spec in context["cl"].filter_specs for name in spec.expected_parameters()]
        if model_admin.date_hierarchy:
            parameters += [f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day")]
        targets = [changelist, *([f"{changelist}export/"] if opts.model_name == "membership" else [])]
        for target in targets:
            for name in [*parameters, "unknown_filter", "id__in"]:
                urls += [f"{target}?{quote(name)}={value}" for value in HOSTILE_VALUES.values()]
    return urls


@pytest.mark.parametrize("role", ["anonymous", "member", "staff"])
def test_no_hostile_url_makes_the_site_fail(site, role):
    assert failures_of(client_as(role, site), urls_to_try(site)) == ""


def test_no_hostile_filter_value_makes_an_admin_changelist_fail(site):
    staff = client_as("staff", site)
    assert failures_of(staff, changelist_filter_urls(staff)) == ""
