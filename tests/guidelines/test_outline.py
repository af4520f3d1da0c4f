"""Real normative text: numbered paragraphs without headings, and trees deeper than their numbers suggest.

The trial import was a US regulation: "1002.2(a)" has a number and text but no heading, and its numbers
say nothing reliable about depth ("Interpretation 1" sits at the top, "1002.2(a)(1)(i)" four levels down).
"""

import re
import uuid
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from guidelines import caching
from guidelines.exchange import edition_import
from guidelines.models import Edition, ProvisionVersion
from guidelines.selectors import outline_depths
from guidelines.services import EMPTY_PROVISION, PARENT_CYCLE, edition_publish

pytestmark = pytest.mark.django_db

LAYOUT_QUERIES = 1
# The first ten words of 1002.2(a)'s text, cut at a word, as every list of provisions shows it.
ACCOUNT_LEAD = "Account means an extension of credit. When employed in relation…"
ADVERSE_LEAD = "Adverse action means a refusal to grant credit in substantially…"

# (uid, number, heading, parent uid, body) in reading order; depth in the tree in the comment.
PARAGRAPHS = [
    ("p2", "1002.2", "Definitions.", None, "For the purposes of this part the following definitions apply."),  # 0
    (
        "p2a",
        "1002.2(a)",
        None,
        "p2",
        "**Account** means an extension of credit. When employed in relation to an "
        "account, the term *applicant* includes a person who is or may become contractually liable.",
    ),  # 1
    ("p2a1", "1002.2(a)(1)", "  ", "p2a", "A first sub-paragraph about open-end credit accounts."),  # 2
    ("p2a1i", "1002.2(a)(1)(i)", "", "p2a1", "A second level about credit card plans in particular."),  # 3
    ("p2a1iA", "1002.2(a)(1)(i)(A)", "", "p2a1i", "A third level about plans offered by retailers."),  # 4
    ("p2a1iA1", "1002.2(a)(1)(i)(A)(1)", "", "p2a1iA", "A fourth level about store cards and their terms."),  # 5
    ("p2a1iA1a", "1002.2(a)(1)(i)(A)(1)(a)", "", "p2a1iA1", "A fifth level about co-branded store cards."),  # 6
    (
        "p2b",
        "1002.2(b)",
        "",
        "p2",
        "Adverse action means a refusal to grant credit in substantially the amount "
        "or on substantially the terms requested.",
    ),  # 1
    ("i1", "Interpretation 1", "Official interpretations", None, "Interpretations of the definitions."),  # 0
    ("i1-1", "Interpretation 1.1", "", "i1", "Comment on the meaning of account in this part."),  # 1
    ("i1-1-i", "Interpretation 1.1.i", "", "i1-1", "Further comment on open-end accounts and cards."),  # 2
]
DEPTHS = [0, 1, 2, 3, 4, 5, 6, 1, 0, 1, 2]


def regulation(slug="2024", published_on="2024-01-01", paragraphs=PARAGRAPHS):
    provisions = []
    for uid, number, heading, parent, body in paragraphs:
        item = {"uid": uid, "slug": uid, "number": number, "kind": "section", "parent": parent, "body": body}
        if heading is not None:  # 1002.2(a) leaves the key out altogether, as the trial file did
            item["heading"] = heading
        provisions.append(item)
    return {
        "format": "society-guideline-edition/1",
        "guideline": {"slug": "regulation-b", "title": "Equal Credit Opportunity (Regulation B)"},
        "edition": {
            "label": slug,
            "slug": slug,
            "language": "en",
            "published_on": published_on,
            "change_summary": "Imported from the Federal Register.",
        },
        "provisions": provisions,
    }


class Headings(HTMLParser):
    """Every heading of a page in document order, as (level, text): h1-h6 and role="heading" elements."""

    def __init__(self, html):
        super().__init__()
        self.headings, self.title, self._open, self._in_title = [], "", None, False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._in_title = self._in_title or tag == "title"
        if self._open is not None:
            self._open["nested"] += tag == self._open["tag"]
        elif re.fullmatch(r"h[1-6]", tag):
            self._open = {"tag": tag, "level": int(tag[1]), "nested": 0, "text": [], "id": attrs.get("id")}
        elif attrs.get("role") == "heading":
            level = int(attrs["aria-level"])
            self._open = {"tag": tag, "level": level, "nested": 0, "text": [], "id": attrs.get("id")}

    def handle_endtag(self, tag):
        self._in_title = self._in_title and tag != "title"
        if self._open is not None and tag == self._open["tag"]:
            if self._open["nested"]:
                self._open["nested"] -= 1
            else:
                text = " ".join("".join(self._open["text"]).split())
                self.headings.append(SimpleNamespace(level=self._open["level"], text=text, id=self._open["id"]))
                self._open = None

    def handle_data(self, data):
        if self._open is not None:
            self._open["text"].append(data)
        if self._in_title:
            self.title += data


def _page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status
    page = Headings(response.content.decode())
    for heading in page.headings:
        assert heading.text, f"empty heading in {url}"
        assert "None" not in heading.text
    assert "None" not in page.title
    return page, response.content.decode()


def _assert_never_skips(page):
    levels = [heading.level for heading in page.headings]
    assert levels[0] == 1
    for before, after in zip(levels, levels[1:], strict=False):
        assert after <= before + 1, levels


@pytest.fixture
def regulation_editions():
    """2024, then 2025 where 1002.2(a)(1) is reworded and 1002.2(b) is gone: both imported and published."""
    first = edition_import(data=regulation(), publish=True)
    paragraphs = [p for p in PARAGRAPHS if p[0] != "p2b"]
    paragraphs[2] = (*paragraphs[2][:4], "A first sub-paragraph about open-end and closed-end credit accounts.")
    second = edition_import(data=regulation("2025", "2025-01-01", paragraphs), publish=True)
    return first, second


def test_headingless_provisions_import_and_publish(regulation_editions):
    first, second = regulation_editions
    assert first.is_published
    assert second.is_published
    account = first.versions.get(number="1002.2(a)")
    assert account.heading == ""
    assert account.display_heading == ACCOUNT_LEAD
    assert account.numbered_heading == f"1002.2(a) {ACCOUNT_LEAD}"
    assert first.versions.get(number="1002.2").display_heading == "Definitions."


def test_edition_page_lists_first_words_and_levels_follow_the_tree(client, regulation_editions):
    first, _second = regulation_editions
    page, body = _page(client, first.get_absolute_url())
    _assert_never_skips(page)
    provisions = {h.id.removeprefix("p-").removesuffix("-h"): h for h in page.headings if (h.id or "").startswith("p-")}
    assert [provisions[uid].level for uid, *_rest in PARAGRAPHS] == [2 + depth for depth in DEPTHS]
    # The trial's bug: "1002.2" was an h3 (one dot) and deeper interpretation paragraphs h2 (none).
    assert provisions["p2"].level == 2
    assert provisions["i1-1-i"].level == 4
    # Past h6 a div carries the heading role and its level; nothing is an empty heading.
    assert '<div class="provision__heading" role="heading" aria-level="8" id="p-p2a1iA1a-h">' in body
    assert provisions["p2a"].text == f"1002.2(a) {ACCOUNT_LEAD}"
    assert provisions["p2a1"].text == "1002.2(a)(1) A first sub-paragraph about open-end credit accounts."  # "  "
    # The contents: first words for a heading, indented by the same depth.
    assert (
        '<li class="toc__item toc__item--depth-1"><a href="#p-p2a"><span class="toc__number">1002.2(a)</span> '
        f"{ACCOUNT_LEAD}</a></li>"
    ) in body
    for (uid, *_rest), depth in zip(PARAGRAPHS, DEPTHS, strict=True):
        assert f'toc__item--depth-{depth}"><a href="#p-{uid}"' in body


def test_edition_page_of_a_deep_tree_keeps_its_query_count(client, regulation_editions, django_assert_num_queries):
    url = regulation_editions[0].get_absolute_url()
    # guideline, its editions, versions, history tags: as for any edition (test_reading)
    with django_assert_num_queries(4 + LAYOUT_QUERIES):
        assert client.get(url).status_code == 200


def test_provision_page_title_heading_and_citation_use_the_first_words(client, regulation_editions):
    first, _second = regulation_editions
    url = reverse("guidelines:provision", kwargs={"guideline": "regulation-b", "edition": "2024", "provision": "p2a"})
    page, body = _page(client, url)
    _assert_never_skips(page)
    assert page.title.startswith(f"1002.2(a) {ACCOUNT_LEAD} — ")
    assert page.headings[0].text == f"1002.2(a) {ACCOUNT_LEAD}"
    assert f"Equal Credit Opportunity (Regulation B), 1002.2(a) {ACCOUNT_LEAD} (2024)." in body  # APA
    assert f"title = {{Equal Credit Opportunity (Regulation B), 1002.2(a) {ACCOUNT_LEAD}}}," in body  # BibTeX
    assert "2024 (1002.2(a))" in body  # the edition switcher still names it by number


def test_history_and_removed_pages_use_the_first_words(client, regulation_editions):
    history = reverse("guidelines:provision-history", kwargs={"guideline": "regulation-b", "provision": "p2b"})
    page, body = _page(client, history)
    assert page.title.startswith(f"Timeline of “1002.2(b) {ADVERSE_LEAD}”")
    assert f">1002.2(b) {ADVERSE_LEAD}</a>" in body  # the timeline entry
    removed = reverse("guidelines:provision-current", kwargs={"guideline": "regulation-b", "provision": "p2b"})
    page, _body = _page(client, removed, status=410)
    assert page.headings[0].text == f"1002.2(b) {ADVERSE_LEAD} is no longer in the guideline"


def test_compare_pages_use_the_first_words(client, regulation_editions):
    _first, second = regulation_editions
    url = reverse("guidelines:what-changed", kwargs={"guideline": "regulation-b", "edition": second.slug})
    page, body = _page(client, url)
    _assert_never_skips(page)
    texts = [heading.text for heading in page.headings]
    # Changed, removed, and the unchanged list: each named by number and first words.
    assert "1002.2(a)(1) A first sub-paragraph about open-end and closed-end credit accounts." in texts
    assert f"1002.2(b) {ADVERSE_LEAD}" in texts
    assert f"<li>1002.2(a) {ACCOUNT_LEAD}</li>" in body


def test_search_results_name_headingless_hits_by_their_first_words(
    client, regulation_editions, django_assert_num_queries
):
    # ranked matches, their editions, highlights (and first words) for the shown hits
    with django_assert_num_queries(3 + LAYOUT_QUERIES):
        response = client.get("/guidelines/search/?q=applicant+contractually")
    page = Headings(response.content.decode())
    result = next(heading for heading in page.headings if heading.text.startswith("1002.2(a)"))
    assert result.text == f"1002.2(a) {ACCOUNT_LEAD}"
    assert "None" not in response.content.decode()


def test_publish_accepts_no_heading_but_refuses_a_provision_with_nothing_in_it():
    data = regulation(slug="draft")
    data["provisions"][1]["body"] = ""  # 1002.2(a): neither heading nor text
    draft = edition_import(data=data)
    with pytest.raises(ValidationError) as error:
        edition_publish(edition=draft)
    assert error.value.messages == [str(EMPTY_PROVISION % {"number": "1002.2(a)"})]


def test_publish_refuses_parents_that_loop():
    draft = edition_import(data=regulation(slug="draft"))
    top = draft.versions.select_related("provision").get(number="1002.2")
    ProvisionVersion.objects.filter(pk=top.pk).update(parent=draft.versions.get(number="1002.2(b)").provision)
    with pytest.raises(ValidationError) as error:
        edition_publish(edition=draft)
    assert set(error.value.messages) == {str(PARENT_CYCLE % {"number": n}) for n in ("1002.2", "1002.2(b)")}
    assert Edition.objects.get(pk=draft.pk).status == Edition.Status.DRAFT


def _versions(*pairs):
    return [SimpleNamespace(provision_id=provision, parent_id=parent) for provision, parent in pairs]


def test_depths_come_from_the_parent_chain_in_python():
    assert outline_depths(_versions((1, None), (2, 1), (3, 2), (4, None), (5, 4))) == [0, 1, 2, 0, 1]
    # A parent that is not in the edition (a draft mid-edit) puts the provision at the top.
    assert outline_depths(_versions((1, 99), (2, 1))) == [0, 1]


def test_depths_never_skip_a_level_along_reading_order():
    # 3 sits in 2, but a draft lists it before 2: it is shown one level below 1, not two.
    assert outline_depths(_versions((1, None), (3, 2), (2, 1))) == [0, 1, 1]


def test_depths_of_looping_parents_end_instead_of_recursing():
    assert outline_depths(_versions((1, 2), (2, 1), (3, 2))) == [0, 0, 1]


def test_admin_saves_a_headingless_provision_and_publishes_it(superuser_client):
    data = regulation(slug="draft")
    data["provisions"] = data["provisions"][:1]
    draft = edition_import(data=data)
    top = draft.versions.get()
    url = reverse("admin:guidelines_edition_change", args=[draft.pk])
    form = {
        "guideline": draft.guideline_id,
        "label": "draft",
        "slug": "draft",
        "kind": "full",
        "language": "en",
        "change_summary": "Imported.",
        "versions-TOTAL_FORMS": "2",
        "versions-INITIAL_FORMS": "1",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000",
    }
    existing = {
        "id": top.pk,
        "number": top.number,
        "heading": top.heading,
        "kind": top.kind,
        "provision": top.provision_id,
        "parent": "",
        "order": top.order,
        "body": top.body,
    }
    added = {
        "number": "1002.2(a)",
        "heading": "",
        "kind": "section",
        "provision": "",
        "parent": top.provision_id,
        "order": "20",
        "body": PARAGRAPHS[1][4],
    }
    for index, values in enumerate([existing, added]):
        form.update({f"versions-{index}-{key}": value for key, value in values.items()})
        form[f"versions-{index}-edition"] = draft.pk
        form[f"versions-{index}-change_note"] = ""
    response = superuser_client.post(url, form)
    assert response.status_code == 302
    assert draft.versions.get(number="1002.2(a)").heading == ""
    change_page = superuser_client.get(url).content.decode()
    assert f"1002.2(a) {ACCOUNT_LEAD}" in change_page
    changelist = reverse("admin:guidelines_edition_changelist")
    superuser_client.post(changelist, {"action": "publish", "_selected_action": [draft.pk]})
    assert Edition.objects.get(pk=draft.pk).is_published


def test_pages_cached_by_older_templates_are_not_served_after_a_render_version_bump(client, monkeypatch):
    url = edition_import(data=regulation(), publish=True).get_absolute_url()
    key = f"test:{uuid.uuid4()}"
    monkeypatch.setattr(caching, "RENDER_VERSION", "1")
    old_etag = client.get(url)["ETag"]
    assert caching.cached_fragment(key, lambda: "h3 for everything") == "h3 for everything"
    monkeypatch.setattr(caching, "RENDER_VERSION", "2")
    assert client.get(url, headers={"if-none-match": old_etag}).status_code == 200
    assert caching.cached_fragment(key, lambda: "levels from the tree") == "levels from the tree"


def test_admin_finds_a_headingless_provision_by_its_number(superuser_client):
    edition_import(data=regulation(), publish=True)
    changelist = reverse("admin:guidelines_provision_changelist")
    body = superuser_client.get(changelist, {"q": "1002.2(b)"}).content.decode()
    assert ">p2b</a>" in body
    assert ">p2a</a>" not in body
