"""What the admin's HTML gives assistive technology: every input in a table of forms names its column and row,
split date/time fields label each part, the history paginator needs no inline style, and the dashboard keeps
its long country table folded."""

import pytest
from django.urls import reverse

from members.models import Membership
from tests.factories import CountryBandFactory, MembershipTypeFactory, PriceFactory, TermFactory, UserFactory
from tests.society.factories import NewsArticleFactory, PageFactory

pytestmark = pytest.mark.django_db


def test_every_list_editable_input_is_labelled_with_its_column_and_row(superuser_client):
    kenya = CountryBandFactory(country="KE", band="low")
    full = MembershipTypeFactory(name="Full", display_order=3)
    price = PriceFactory(membership_type=full, band="high", years=1)
    about = PageFactory(title="About the society")
    pages = {
        "admin:members_countryband_changelist": [f'aria-label="Income band, {kenya}"'],
        "admin:members_membershiptype_changelist": ['aria-label="Display order, Full"'],
        "admin:members_price_changelist": [f'aria-label="Amount, {price}"'],
        "admin:society_page_changelist": [
            'aria-label="In the footer navigation, About the society"',
            'aria-label="Navigation order, About the society"',
        ],
    }
    for name, labels in pages.items():
        page = superuser_client.get(reverse(name)).content.decode()
        for label in labels:
            assert label in page, (name, label)
    assert about.pk


def test_every_input_of_the_price_table_on_a_type_is_labelled(superuser_client):
    full = MembershipTypeFactory(name="Full")
    price = PriceFactory(membership_type=full, band="high", years=1)
    page = superuser_client.get(reverse("admin:members_membershiptype_change", args=[full.pk])).content.decode()
    for column in ["Income band", "Term in years", "Amount", "Delete"]:
        assert f'aria-label="{column}, {price}"' in page, column
    # The template row JavaScript copies for "Add another" is labelled too.
    assert 'aria-label="Amount, new row 1"' in page


def test_split_date_and_time_fields_label_each_part(superuser_client):
    article = NewsArticleFactory()
    page = superuser_client.get(reverse("admin:society_newsarticle_change", args=[article.pk])).content.decode()
    assert '<label for="id_publish_at_0">Date:</label>' in page
    assert '<label for="id_publish_at_1">Time:</label>' in page


def test_history_pages_carry_no_inline_style(superuser_client):
    page_row = PageFactory()
    for _ in range(3):
        page_row.title += "!"
        page_row.save()
    page = superuser_client.get(reverse("admin:society_page_history", args=[page_row.pk])).content.decode()
    assert 'class="paginator history-paginator"' in page
    assert "style=" not in page


def test_the_dashboard_folds_the_country_table_behind_show_all(superuser_client):
    for country in ["DE", "KE", "BR"]:
        TermFactory(membership=Membership.objects.create(user=UserFactory(country=country)))
    page = superuser_client.get(reverse("admin:members_membership_dashboard")).content.decode()
    details = page[page.index('<details class="country-table">') :]
    assert "<summary>Show all 3 countries</summary>" in details
    assert "Kenya (KE)" in details
