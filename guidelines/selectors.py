"""Reads that span several tables, each a fixed number of queries whatever the number of provisions."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import Left
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from guidelines.models import Edition, Guideline, ProvisionVersion, heading_or_lead, search_config


@dataclass
class GuidelineState:
    """A guideline and all its published editions (originals and translations), loaded in two queries.

    Everything a reading page says about other editions (current, superseded, switchers, languages) is
    derived from this list, so it costs nothing per provision."""

    guideline: Guideline
    editions: list[Edition] = field(default_factory=list)

    @property
    def originals(self):
        return [edition for edition in self.editions if not edition.translation_of_id]

    @property
    def current(self):
        originals = self.originals
        return originals[-1] if originals else None

    def get(self, slug):
        for edition in self.editions:
            if edition.slug == slug:
                return edition
        return None

    def source_of(self, edition):
        """The original an edition is (a translation of), for history and currency."""
        return self.get_by_pk(edition.translation_of_id) if edition.translation_of_id else edition

    def get_by_pk(self, pk):
        return next((edition for edition in self.editions if edition.pk == pk), None)

    def current_for(self, edition):
        """The edition a reader of `edition` should be sent to: the current original, or its translation in
        the same language when one exists."""
        current = self.current
        if edition.translation_of_id and current:
            for candidate in self.editions:
                if candidate.translation_of_id == current.pk and candidate.language == edition.language:
                    return candidate
        return current

    def is_superseded(self, edition):
        source = self.source_of(edition)
        return source is not None and self.current is not None and source.pk != self.current.pk

    def previous_of(self, edition):
        """The original edition that `edition` replaced."""
        source = self.source_of(edition)
        originals = self.originals
        if source in originals:
            index = originals.index(source)
            return originals[index - 1] if index > 0 else None
        return originals[-1] if originals else None

    def languages_of(self, edition):
        """The original and its translations: the reader's language switcher."""
        source = self.source_of(edition) or edition
        return [source, *[e for e in self.editions if e.translation_of_id == source.pk]]

    @property
    def fingerprint(self):
        return ";".join(f"{edition.pk}:{edition.published_on}" for edition in self.editions)


def guideline_state(slug) -> GuidelineState:
    guideline = get_object_or_404(Guideline, slug=slug)
    editions = list(guideline.editions.published().select_related("translation_of").chronological())
    for edition in editions:
        edition.guideline = guideline  # the row already loaded, so edition.guideline never costs a query
    return GuidelineState(guideline, editions)


def published_edition(state: GuidelineState, slug) -> Edition:
    edition = state.get(slug)
    if edition is None:
        raise Http404(_("No published edition “%(slug)s”.") % {"slug": slug})
    return edition


def edition_versions(edition):
    """The versions of an edition in reading order, with what its page shows: not the Markdown source, and not
    the search vector (a long string per provision the page never shows)."""
    return list(edition.versions.select_related("provision").defer("body", "search_vector").in_reading_order())


def outline_depths(versions) -> list[int]:
    """The depth in the edition's tree of each version (0 at the top), in the order given, from the parent
    chain of versions already loaded: no query. Numbers say nothing reliable about depth ("1002.2(a)",
    "Interpretation 1"), so they are never read.

    Along reading order a version is never placed more than one level below the one before it, so headings
    never skip a level even if a draft lists a child away from its parent. A parent outside the edition or
    a cycle of parents ends the chain instead of looping."""
    parents = {version.provision_id: version.parent_id for version in versions}
    depths = {}
    for version in versions:
        chain, node = [], version.provision_id
        while node in parents and node not in depths and node not in chain:
            chain.append(node)
            node = parents[node]
        for depth, member in enumerate(reversed(chain), start=depths.get(node, -1) + 1):
            depths[member] = depth
    result, previous = [], -1
    for version in versions:
        previous = min(depths[version.provision_id], previous + 1)
        result.append(previous)
    return result


def provision_history(state: GuidelineState, edition, provision_ids=None) -> dict[int, str]:
    """NICE-style history tags as of `edition`: "2016, amended 2021" per provision id, from one query."""
    source = state.source_of(edition) or edition
    if source.is_published:
        editions = [e for e in state.originals if (e.published_on, e.pk) <= (source.published_on, source.pk)]
    else:  # a draft preview: its history runs through every published edition
        editions = [*state.originals, source]
    labels = {e.pk: e.label for e in editions}
    # Translated once per edition, not once per amended provision.
    amended = {e.pk: _("amended %(edition)s") % {"edition": e.label} for e in editions}
    order = {e.pk: index for index, e in enumerate(editions)}
    rows = ProvisionVersion.objects.filter(edition__in=list(labels)).values_list(
        "provision_id", "edition_id", "content_hash"
    )
    if provision_ids is not None:
        rows = rows.filter(provision_id__in=provision_ids)
    by_provision = defaultdict(list)
    for provision_id, edition_id, digest in rows:
        by_provision[provision_id].append((order[edition_id], edition_id, digest))
    tags = {}
    for provision_id, entries in by_provision.items():
        entries.sort()
        parts, previous = [], None
        for _index, edition_id, digest in entries:
            if previous is None:
                parts.append(labels[edition_id])
            elif digest != previous:
                parts.append(amended[edition_id])
            previous = digest
        tags[provision_id] = ", ".join(parts)
    return tags


def outdated_translations(edition, versions) -> set[int]:
    """Provision ids whose translation was made from a text the source edition no longer has."""
    if not edition.translation_of_id:
        return set()
    source_hashes = dict(
        ProvisionVersion.objects.filter(edition_id=edition.translation_of_id).values_list(
            "provision_id", "content_hash"
        )
    )
    return {
        version.provision_id
        for version in versions
        if version.source_hash and source_hashes.get(version.provision_id) not in (None, version.source_hash)
    }


def translations_freshness():
    """Every translated edition with its provision count and the provisions translated from a text the source
    edition no longer has (the reader's "may be out of date" flag, see outdated_translations): two queries."""
    source_now = ProvisionVersion.objects.filter(
        edition_id=OuterRef("edition__translation_of_id"), provision_id=OuterRef("provision_id")
    ).values("content_hash")[:1]
    outdated = (
        ProvisionVersion.objects.filter(edition__translation_of__isnull=False)
        .exclude(source_hash="")
        .annotate(source_now=Subquery(source_now))
        .filter(source_now__isnull=False)
        .exclude(source_now=F("source_hash"))
        .only("edition_id", "number", "heading")
        .order_by("order", "pk")
    )
    by_edition = {}
    for version in outdated:
        by_edition.setdefault(version.edition_id, []).append(version)
    editions = list(
        Edition.objects.filter(translation_of__isnull=False)
        .select_related("guideline", "translation_of")
        .annotate(provision_count=Count("versions"))
        .order_by("guideline__order", "guideline__title", "translation_of__published_on", "language")
    )
    for edition in editions:
        edition.outdated_versions = by_edition.get(edition.pk, [])
    return editions


def provision_timeline(state: GuidelineState, provision):
    """Every original published edition with this provision's version in it (or None where it was absent),
    with what happened to it in that edition."""
    versions = {
        version.edition_id: version
        for version in ProvisionVersion.objects.filter(
            provision=provision, edition__in=[e.pk for e in state.editions]
        ).select_related("parent")
    }
    entries, previous, previous_edition = [], None, None
    for edition in state.originals:
        version = versions.get(edition.pk)
        if version is None:
            status = _("Removed") if previous is not None else None
        elif previous is None:
            status = _("Added")
        elif version.content_hash != previous.content_hash:
            status = _("Amended")
        elif version.number != previous.number or version.parent_id != previous.parent_id:
            status = _("Renumbered or moved")
        else:
            status = _("Unchanged")
        if status:
            entries.append(
                {
                    "edition": edition,
                    "version": version,
                    "status": status,
                    "previous": previous,
                    "previous_edition": previous_edition,
                }
            )
        previous = version
        previous_edition = edition if version is not None else previous_edition
    return entries, versions


# Private-use characters mark the highlights in ts_headline output: the snippet is escaped as plain text and
# only these markers become <mark>, so nothing in a provision's text or the query can inject markup.
_MARK_START, _MARK_STOP = "\ue000", "\ue001"
MAX_QUERY_CHARS = 200


def highlight(snippet: str):
    escaped = escape(snippet or "")
    return mark_safe(escaped.replace(_MARK_START, "<mark>").replace(_MARK_STOP, "</mark>"))  # escaped above


def default_search_language(ui_language):
    """The reader's UI language when some published edition is in it, else English (the originals)."""
    if ui_language != "en" and Edition.objects.published().filter(language=ui_language).exists():
        return ui_language
    return "en"


@dataclass
class SearchProvision:
    pk: int
    slug: str


@dataclass
class SearchHit:
    """A provision's version that matched, as a search result shows it."""

    pk: int
    edition: Edition
    number: str
    heading: str
    anchor: str  # as ProvisionVersion.anchor
    heading_html: str = ""
    snippet_html: str = ""

    @property
    def edition_id(self):
        return self.edition.pk


def search_provisions(query_text: str, *, language="en", all_editions=False, max_provisions=30, max_rows=300):
    """Ranked full-text matches in editions in `language` (originals and translations), grouped by
    provision: [{"provision": SearchProvision, "hits": [SearchHit, ...]}], best first.

    The query is parsed with the text search configuration of that language, the one its text was indexed
    with, so "células" finds "célula" in a Spanish translation and an English query never matches Spanish.

    Three queries whatever the size of the library: the ranked matches (only the columns a result shows: they
    are sorted in full), their few editions with each one's URL, then highlighted snippets
    for only the hit shown first in each group (ts_headline is the expensive part, so it runs on at most 30
    rows)."""
    config = search_config(language)
    query = SearchQuery(query_text[:MAX_QUERY_CHARS], search_type="websearch", config=config)
    versions = ProvisionVersion.objects.published().filter(language=language, search_vector=query)
    if not all_editions:
        current = Edition.objects.current()
        versions = versions.filter(Q(edition__in=current) | Q(edition__translation_of__in=current))
    # Plain tuples: up to 300 rows are read to find 30 provisions, and model instances for all of them (each
    # with its provision) took longer than the ranking itself.
    ranked = list(
        versions.annotate(rank=SearchRank(F("search_vector"), query))
        .order_by("-rank", "-edition__published_on", "pk")
        .values_list("pk", "provision_id", "provision__slug", "edition_id", "number", "heading")[:max_rows]
    )
    editions = Edition.objects.select_related("guideline").in_bulk({row[3] for row in ranked})
    for edition in editions.values():
        edition.reading_url = edition.get_absolute_url()  # once per edition, not a reverse() per hit
    groups = {}
    for pk, provision_id, slug, edition_id, number, heading in ranked:
        group = groups.get(provision_id)
        if group is None:
            if len(groups) == max_provisions:
                continue
            group = groups[provision_id] = {"provision": SearchProvision(provision_id, slug), "hits": []}
        group["hits"].append(SearchHit(pk, editions[edition_id], number, heading, f"p-{slug}"))
    if not groups:
        return []
    options = {"start_sel": _MARK_START, "stop_sel": _MARK_STOP, "config": config}
    snippets = {
        row["pk"]: row
        for row in ProvisionVersion.objects.filter(pk__in=[g["hits"][0].pk for g in groups.values()])
        .annotate(
            heading_snippet=SearchHeadline("heading", query, highlight_all=True, **options),
            body_snippet=SearchHeadline("body_text", query, max_fragments=2, max_words=30, min_words=12, **options),
            # Enough of the text for the first words that stand in for a missing heading.
            lead=Left("body_text", 500),
        )
        .values("pk", "heading_snippet", "body_snippet", "lead")
    }
    for group in groups.values():
        first = group["hits"][0]
        snippet = snippets[first.pk]
        if first.heading.strip():
            first.heading_html = highlight(snippet["heading_snippet"])
        else:
            first.heading_html = highlight(heading_or_lead("", snippet["lead"]))
        first.snippet_html = highlight(snippets[first.pk]["body_snippet"])
    return list(groups.values())


def alert_subscriptions_listed(subscriptions) -> list:
    """Subscriptions with `target`: the guideline, or the provision as its latest published edition numbers it.
    Two queries however many are listed."""
    subscriptions = list(subscriptions.select_related("guideline", "provision").order_by("guideline__title", "pk"))
    provision_ids = {s.provision_id for s in subscriptions if s.provision_id}
    latest = {
        version.provision_id: version
        for version in ProvisionVersion.objects.published()
        .filter(provision_id__in=provision_ids, edition__translation_of__isnull=True)
        .order_by("provision_id", "-edition__published_on", "-edition_id")
        .distinct("provision_id")
        .only("provision_id", "number", "heading", "body_text")
    }
    for subscription in subscriptions:
        version = latest.get(subscription.provision_id)
        if subscription.provision_id is None:
            subscription.target = subscription.guideline.title
        else:
            label = version.numbered_heading if version else subscription.provision.slug
            subscription.target = f"{subscription.guideline.title}, {label}"
    return subscriptions
