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
