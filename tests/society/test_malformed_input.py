"""NUL bytes and invalid UTF-8 anywhere in a request get one clear 400 page and change nothing."""

import pytest
from django.urls import reverse

from members.models import User
from tests.clients import Client
from tests.factories import StaffFactory
from tests.society.factories import NewsArticleFactory, TopicFactory

pytestmark = pytest.mark.django_db

EXPLANATION = "contained characters that are not valid text"


@pytest.fixture
def client():
    # A 500 must show up as a status code to assert on, the way a visitor would meet it.
    return Client(raise_request_exception=False)


def assert_refused(response):
    assert response.status_code == 400
    assert EXPLANATION in response.text
    assert "society/malformed_request.html" in [template.name for template in response.templates]


@pytest.mark.parametrize(
    "url",
    [
        "/news/?topic=%00",
        "/news/?topic=%ff%fe",
        "/news/?topic=ok&q=%C3",  # a UTF-8 sequence cut short
        "/guidelines/search/?q=a%00b",
        "/news/%00/",
        "/news/%ff%fe/",
        "/sitemap-news.xml?p=%00",
    ],
)
def test_nul_or_invalid_utf8_in_path_or_query_is_a_400_page(client, url):
    assert_refused(client.get(url))


def test_order_page_with_a_nul_number_is_a_400_for_a_member(client, member):
    client.force_login(member)
    assert_refused(client.get("/membership/orders/%00/"))


def test_admin_filter_with_a_nul_is_a_400_not_a_database_error(client):
    client.force_login(StaffFactory(is_superuser=True))
    assert_refused(client.get("/admin/members/membership/?status=%00"))
    assert_refused(client.get("/admin/members/membership/export/?country=%00"))


def test_valid_non_ascii_text_passes(client):
    topic = TopicFactory(slug="celulas", name="Células")
    NewsArticleFactory(topics=[topic], title="Células madre")
    response = client.get("/news/?topic=celulas&q=c%C3%A9lulas+%E7%B4%B0%E8%83%9E")
    assert response.status_code == 200
    assert "Células madre" in response.text


def test_a_form_field_with_a_nul_byte_is_refused_and_nothing_is_saved(client, member):
    client.force_login(member)
    before = User.objects.values().get(pk=member.pk)
    fields = {"full_name": "Ada\x00Lovelace", "country": "GB", "language": "en", "institution": "X"}
    assert_refused(client.post(reverse("members:profile"), fields))  # multipart, as the test client sends it
    body = "full_name=Ada%00Lovelace&country=GB&language=en&institution=X"
    assert_refused(client.post(reverse("members:profile"), body, content_type="application/x-www-form-urlencoded"))
    assert User.objects.values().get(pk=member.pk) == before


def test_a_form_field_with_invalid_utf8_is_refused_and_nothing_is_saved(client, member):
    client.force_login(member)
    before = User.objects.values().get(pk=member.pk)
    body = "full_name=Ada%ff&country=GB&language=en&institution=X"
    assert_refused(client.post(reverse("members:profile"), body, content_type="application/x-www-form-urlencoded"))
    assert User.objects.values().get(pk=member.pk) == before


def test_a_json_body_is_left_to_its_view(client, settings):
    # Stripe's webhook reads its own raw body: a NUL inside JSON is its view's business (a signature failure).
    settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET = "sk_test", "whsec_test"
    response = client.post("/payments/stripe/webhook/", '{"id": "\\u0000"}', content_type="application/json")
    assert response.status_code == 400
    assert EXPLANATION not in response.text
