"""Junk in admin URLs and filters gets the changelist's invalid-filter answer or a 404, never a 500."""

import pytest

from members.models import Membership
from tests.clients import Client
from tests.factories import StaffFactory, UserFactory
from tests.society.factories import NewsArticleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(db):
    # Raise nothing: a 500 must show up as a status code.
    client = Client(raise_request_exception=False)
    client.force_login(StaffFactory(is_superuser=True))
    return client


@pytest.mark.parametrize("changelist", ["members/order", "society/outgoingemail", "society/newsarticle"])
@pytest.mark.parametrize(
    "query",
    [
        "year=99999999999999999999",  # OverflowError inside Django's date drill-down
        "year=9999",  # the year after is out of range
        "year=9999&{field}__month=12",
        "year=9999&{field}__month=12&{field}__day=31",
        "year=2026&{field}__month=99999999999999999999",
    ],
)
def test_a_date_hierarchy_value_out_of_range_is_an_invalid_filter(staff_client, changelist, query):
    field = {"members/order": "created_at", "society/outgoingemail": "created_at"}.get(changelist, "publish_at")
    url = f"/admin/{changelist}/"
    response = staff_client.get(f"{url}?{field}__{query.format(field=field)}")
    assert response.status_code == 302
    assert response["Location"] == f"{url}?e=1"


@pytest.mark.parametrize("query", ["unknown_filter=1", "id__in=x", "status=active&nonsense=-1"])
def test_membership_export_with_a_filter_it_cannot_apply_returns_to_the_changelist(staff_client, query):
    response = staff_client.get(f"/admin/members/membership/export/?{query}")
    assert response.status_code == 302
    assert response["Location"] == "/admin/members/membership/?e=1"


def test_membership_export_with_valid_filters_still_streams(staff_client):
    response = staff_client.get("/admin/members/membership/export/?status=active")
    assert response.status_code == 200
    assert response.streaming


@pytest.mark.parametrize("object_id", ["x", "x" * 5000, "-", "1.5"])
def test_history_pages_with_a_malformed_id_are_404(staff_client, object_id):
    membership = Membership.objects.create(user=UserFactory())
    article = NewsArticleFactory()
    assert staff_client.get(f"/admin/members/membership/{object_id}/history/").status_code == 404
    assert staff_client.get(f"/admin/members/membership/{membership.pk}/history/{object_id}/").status_code == 404
    assert staff_client.get(f"/admin/society/newsarticle/{article.pk}/history/{object_id}/").status_code == 404
    assert staff_client.get(f"/admin/society/newsarticle/{article.pk}/history/").status_code == 200


def _filter_parameters():
    """(changelist URL, parameter) for every parameter every registered changelist's filters read."""
    from django.contrib import admin
    from django.test import RequestFactory

    staff = StaffFactory(is_superuser=True)
    found = []
    for model, model_admin in admin.site._registry.items():
        request = RequestFactory().get("/")
        request.user = staff
        if not model_admin.has_view_permission(request):
            continue
        changelist = model_admin.get_changelist_instance(request)
        names = set()
        for spec in changelist.filter_specs:
            names.update(spec.expected_parameters())
        if model_admin.date_hierarchy:
            names.update(f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day"))
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        found.extend((url, name) for name in sorted(names))
    return found


@pytest.mark.parametrize("value", ["%00", "x" * 2000, "%ff%fe", "-1", "99999999999999999999", "abc", "2026-13-45"])
def test_no_junk_in_any_changelist_filter_makes_a_500(staff_client, value):
    """Every filter of every changelist (the custom ones for 500,000 memberships included), each with junk."""
    UserFactory()
    failures = []
    for url, name in _filter_parameters():
        status = staff_client.get(f"{url}?{name}={value}").status_code
        if status >= 500:
            failures.append(f"{status} {url}?{name}=")
    assert failures == []
