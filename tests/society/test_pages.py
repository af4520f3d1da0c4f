import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

pytestmark = pytest.mark.django_db


def test_home_renders_in_layout_with_one_h1(client):
    response = client.get("/")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count("<h1") == 1
    assert 'href="#main"' in body  # skip link
    assert '<main id="main"' in body
    assert reverse("guidelines:list") in body


def test_home_offers_join_to_visitors_and_membership_to_members(client, member):
    assert reverse("account_signup") in client.get("/").content.decode()
    client.force_login(member)
    body = client.get("/").content.decode()
    assert reverse("members:home") in body
    assert reverse("account_signup") not in body


def test_about_states_the_mission(client):
    response = client.get("/about/")
    assert response.status_code == 200
    assert "responsible translation to the clinic" in response.content.decode()


def test_unknown_page_is_a_404_in_the_layout(client):
    response = client.get("/no-such-page/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in body
    assert 'class="site-header"' in body


def test_500_page_renders_without_a_request_context():
    # The 500 handler renders with an empty context: the layout must not need the request or user.
    response = server_error(RequestFactory().get("/"))
    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in body
    assert 'class="site-header"' in body


@pytest.mark.parametrize("url", ["/", "/about/", "/news/", "/guidelines/", "/accounts/login/", "/sitemap.xml"])
def test_reserved_urls_answer(client, url):
    assert client.get(url).status_code == 200


def test_member_area_asks_anonymous_visitors_to_log_in(client):
    response = client.get("/membership/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_admin_is_mounted(client):
    response = client.get("/admin/")
    assert response.status_code == 302


def test_robots_txt_points_to_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "Sitemap: http://testserver/sitemap.xml" in response.content.decode()
    assert "Disallow: /admin/" in response.content.decode()


@pytest.mark.parametrize(
    ("handler", "code", "heading"),
    [
        ("bad_request", 400, "Bad request"),
        ("permission_denied", 403, "Access denied"),
        ("page_not_found", 404, "Page not found"),
    ],
)
def test_error_pages_render_in_the_layout(rf, handler, code, heading):
    from django.views import defaults

    response = getattr(defaults, handler)(rf.get("/"), exception=Exception("boom"))
    body = response.content.decode()
    assert response.status_code == code
    assert heading in body
    assert 'class="site-header"' in body
    assert "boom" not in body  # exception details never reach the visitor


def test_429_page_renders_in_the_layout(rf):
    from django.template.loader import render_to_string

    body = render_to_string("429.html", request=rf.get("/"))
    assert "Too many attempts" in body
    assert 'class="site-header"' in body
