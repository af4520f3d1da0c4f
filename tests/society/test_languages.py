"""Every page in every language: the URL decides a public page's language, the member's profile (or the
cookie, or the browser) an unprefixed member page's; <html lang dir>, hreflang alternates and the switcher."""

import datetime
import re

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse, translate_url
from django.utils import translation

from members.models import User
from tests.factories import OrderFactory, TermFactory, UserFactory, price_matrix
from tests.guidelines.factories import build_edition
from tests.sitemaps import SITEMAP_NS, sitemap_locations
from tests.society.factories import NewsArticleFactory, PageFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 25, 12, tzinfo=datetime.UTC)
LANGUAGES = [code for code, _name in settings.LANGUAGES]
HTML_TAG = re.compile(r'<html lang="([^"]+)" dir="(ltr|rtl)">')


def html_lang_dir(response):
    assert response.status_code == 200, response
    return HTML_TAG.search(response.content.decode()).groups()


def expected(code):
    return (code, "rtl" if code == "ar" else "ltr")


@pytest.fixture
def public_urls(db):
    edition = build_edition(provisions=3)
    provision = edition.versions.select_related("provision").first().provision
    with translation.override(settings.LANGUAGE_CODE):
        return _english_urls(edition, provision)


def _english_urls(edition, provision):
    return [
        reverse("home"),
        reverse("about"),
        PageFactory().get_absolute_url(),
        reverse("news:list"),
        NewsArticleFactory(publish_at=NOW - datetime.timedelta(days=1)).get_absolute_url(),
        reverse("guidelines:list"),
        edition.get_absolute_url(),
        reverse(
            "guidelines:provision",
            kwargs={"guideline": edition.guideline.slug, "edition": edition.slug, "provision": provision.slug},
        ),
        reverse("guidelines:search") + "?q=text",
    ]


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("code", LANGUAGES)
def test_public_pages_render_in_every_language_under_its_prefix(client, public_urls, code):
    for url in public_urls:
        with translation.override(settings.LANGUAGE_CODE):
            localized = translate_url(url, code)
        assert localized.startswith("/" if code == "en" else f"/{code}/")
        response = client.get(localized)
        assert html_lang_dir(response) == expected(code), localized
        # The URL alone decides: caches need not vary on the browser's languages, and no cookie is set. The
        # unprefixed home alone sends a browser to its language's home (tests/society/test_page_cache.py).
        assert ("Accept-Language" in response.get("Vary", "")) == (localized == "/")
        assert not response.cookies


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("code", LANGUAGES)
def test_member_pages_render_in_the_members_language(client, code):
    price_matrix("Full")
    member = UserFactory(country="DE", language=code)
    term = TermFactory(membership__user=member, end=datetime.date(2027, 6, 30))
    order = OrderFactory(membership=term.membership)
    client.force_login(member)
    for url in [
        reverse("members:home"),
        reverse("members:profile"),
        reverse("members:directory"),
        reverse("members:renew"),
        reverse("members:order", args=[order.number]),
        reverse("account_email"),
        reverse("account_change_password"),
    ]:
        assert html_lang_dir(client.get(url)) == expected(code), url


@pytest.mark.parametrize("code", LANGUAGES)
def test_account_pages_follow_the_browser_for_visitors(client, code):
    for url in [reverse("account_login"), reverse("account_signup"), reverse("account_reset_password")]:
        response = client.get(url, headers={"accept-language": f"{code};q=1, en;q=0.5"})
        assert html_lang_dir(response) == expected(code), url
        assert "Accept-Language" in response["Vary"]


def test_public_pages_declare_every_language_and_x_default(client, public_urls):
    body = client.get("/es/news/").content.decode()
    for code in LANGUAGES:
        prefix = "" if code == "en" else f"/{code}"
        assert f'<link rel="alternate" hreflang="{code}" href="{settings.SITE_URL}{prefix}/news/">' in body
    assert f'<link rel="alternate" hreflang="x-default" href="{settings.SITE_URL}/news/">' in body
    # The footer switcher: plain links to the same page in each language; English (unprefixed) through the
    # switch view, whose cookie keeps the unprefixed home from sending the reader back to their browser's language.
    assert '<a href="/ar/news/" hreflang="ar" lang="ar">العربيّة</a>' in body
    switch = reverse("language-switch", args=["en"])
    assert f'<a href="{switch}?next=/news/" hreflang="en" lang="en">English</a>' in body


def test_member_pages_have_no_alternates_and_switch_through_the_language_view(client_logged_in, member):
    body = client_logged_in.get("/membership/profile/").content.decode()
    assert 'hreflang="x-default"' not in body
    switch = reverse("language-switch", args=["ja"])
    assert f'<a href="{switch}?next=/membership/profile/" hreflang="ja" lang="ja">日本語</a>' in body
    response = client_logged_in.get(switch, {"next": "/membership/profile/"})
    assert response.status_code == 302
    assert response.url == "/membership/profile/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ja"
    assert User.objects.get(pk=member.pk).language == "ja"
    assert html_lang_dir(client_logged_in.get("/membership/profile/")) == ("ja", "ltr")


def test_language_switch_refuses_other_sites_and_unknown_languages(client):
    response = client.get(reverse("language-switch", args=["fr"]), {"next": "https://evil.example/"})
    assert response.url == "/"
    assert client.get(reverse("language-switch", args=["xx"])).status_code == 404
    # A visitor's choice is kept in the cookie for the unprefixed pages.
    assert html_lang_dir(client.get(reverse("account_login"))) == ("fr", "ltr")


def test_profile_form_saves_the_language(client_logged_in, member):
    response = client_logged_in.post(
        "/membership/profile/",
        {"full_name": member.full_name, "country": member.country, "language": "ar", "orcid": ""},
    )
    assert response.status_code == 302
    assert User.objects.get(pk=member.pk).language == "ar"


@time_machine.travel(NOW, tick=False)
def test_sitemap_lists_every_language_with_alternates(client, public_urls):
    location = next(loc for loc in sitemap_locations(client) if "sitemap-static" in loc)
    xml = client.get(location).content.decode()
    assert f"<loc>{settings.SITE_URL}/ja/guidelines/</loc>" in xml
    assert f'hreflang="ar" href="{settings.SITE_URL}/ar/guidelines/"' in xml
    assert f'hreflang="x-default" href="{settings.SITE_URL}/guidelines/"' in xml
    assert SITEMAP_NS["s"] in xml


@time_machine.travel(NOW, tick=False)
def test_money_and_dates_follow_the_page_language(client_logged_in, member):
    term = TermFactory(membership__user=member, end=datetime.date(2027, 6, 30))
    OrderFactory(membership=term.membership, amount="1234.50")
    member.language = "de"
    member.save(update_fields=["language"])
    body = client_logged_in.get("/membership/").content.decode()
    assert "1.234,50\xa0$" in body
    assert "30. Juni 2027" in body


def test_the_guideline_search_help_is_one_whole_translated_sentence(client):
    # Was cut at an escaped quote by makemessages, leaving a translation that ended in a backslash.
    page = client.get("/de/guidelines/search/").content.decode()
    assert 'Sie können nach einer genauen Wortfolge in "Anführungszeichen" suchen' in page


def test_an_order_to_pay_and_an_order_to_sort_are_different_words():
    with translation.override("de"):
        from guidelines.models import Guideline
        from members.models import Payment

        assert str(Payment._meta.get_field("order").verbose_name) == "Bestellung"
        assert str(Guideline._meta.get_field("order").verbose_name) == "Reihenfolge"


def _country_options(client, code):
    page = client.get(reverse("account_signup"), headers={"accept-language": code}).content.decode()
    return re.findall(r'<option value="[A-Z]{2}"[^>]*>([^<]+)</option>', page)


@pytest.mark.parametrize(
    ("code", "first", "second"),
    [
        # English order is Afghanistan before Iceland; in the kana order, アイ (Iceland) precedes アフ.
        ("ja", "アイスランド", "アフガニスタン"),
        # English order is Albania before Azerbaijan; in Arabic ذ precedes ل.
        ("ar", "أذربيجان", "ألبانيا"),
        ("de", "Oman", "Österreich"),
        ("de", "Österreich", "Pakistan"),
    ],
)
def test_countries_are_sorted_by_the_readers_alphabet(client, code, first, second):
    names = _country_options(client, code)
    assert names.index(first) < names.index(second)


def _main_text(response) -> str:
    assert response.status_code == 200, response
    main = re.search(r"<main\b.*?</main>", response.content.decode(), re.S).group(0)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


def _catalogue_sentences(code):
    """The portal's own translated phrases of `code`: (English, translation), several words long."""
    import polib
    from django.utils.translation import to_locale

    po = polib.pofile(str(settings.BASE_DIR / "locale" / to_locale(code) / "LC_MESSAGES" / "django.po"))
    return [
        (entry.msgid, entry.msgstr)
        for entry in po.translated_entries()
        if not entry.msgid_plural and "%" not in entry.msgid and "{" not in entry.msgid
        and entry.msgid.count(" ") >= 2 and entry.msgstr != entry.msgid
    ]  # fmt: skip


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("code", [code for code in LANGUAGES if code != "en"])
def test_no_english_is_left_in_the_main_content(client, public_urls, code):
    price_matrix("Full")
    member = UserFactory(country="DE", language=code)
    TermFactory(membership__user=member, end=datetime.date(2027, 6, 30))
    client.force_login(member)
    with translation.override(settings.LANGUAGE_CODE):
        pages = [translate_url(url, code) for url in public_urls[:2] + public_urls[5:7]]
    pages += [reverse("members:home"), reverse("members:profile"), reverse("members:renew")]
    sentences = _catalogue_sentences(code)
    for url in pages:
        text = _main_text(client.get(url))
        english = [msgid for msgid, _msgstr in sentences if msgid in text]
        assert english == [], url
        assert any(msgstr in text for _msgid, msgstr in sentences), url  # the page does show translated text
