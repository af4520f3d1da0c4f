"""The member directory: who is listed, searched and ordered as the reader's language sorts names."""

from django.core.paginator import Paginator
from django.db.models import Count, Value, Window
from django.db.models.functions import Collate, Concat
from django_countries import countries

from members.models import User
from society.i18n import icu_collation


def directory_people(*, query: str = "", country: str = "", language: str | None = None):
    """Listed members matching `query` (name or institution, ignoring case and accents) in `country` (ignored
    when it is not a country code), in the collation of `language`, then by id.

    Browsing reads the partial index on the name in that collation (user_listed_name_<language>) and stops
    after a page. A search sorts its matches, found through the trigram indexes, and is paged by
    SearchPaginator: its order appends '' to the name, which sorts the same but keeps Postgres from walking
    that index and testing each name instead. The matches of a name search bunch together in that order
    ("nguyen" sorts after 60,000 listed names), so the walk read most of the directory (550-650 ms)."""
    query = (query or "").strip()
    people = User.objects.in_directory().matching(query)
    if country in dict(countries):
        people = people.filter(country=country)
    name = Concat("full_name", Value("")) if query else "full_name"
    return people.only("full_name", "institution", "country", "orcid").order_by(
        Collate(name, icu_collation(language)), "pk"
    )


class SearchPaginator(Paginator):
    """Pages of a search, counted by the same statement that reads the page (COUNT(*) OVER ()).

    A page of a search has to find and sort every match anyway, so a separate COUNT read the same few
    thousand rows a second time (each on its own page of the table: most of the cost)."""

    # Beyond any directory's last page; a larger number from a URL would overflow Postgres' OFFSET (a 500).
    MAX_PAGE = 1_000_000

    def page(self, number):
        try:
            number = int(number)
        except (TypeError, ValueError):
            return super().page(number)
        if 1 <= number <= self.MAX_PAGE:
            bottom = (number - 1) * self.per_page
            rows = list(self.object_list.annotate(matches=Window(Count("pk")))[bottom : bottom + self.per_page])
            if rows:
                self.count = rows[0].matches  # instead of the cached_property's own query
                return self._get_page(rows, number, self)
        # Past the last page (or no match at all): Paginator's own count decides between an empty first page
        # and "no such page".
        return super().page(number)
