import pytest

from guidelines.diff import (
    ADDED,
    CHANGED,
    MOVED,
    REMOVED,
    UNCHANGED,
    compare_editions,
    redline,
    redline_email_html,
    redline_text,
    word_diff,
)

pytestmark = pytest.mark.django_db


def _compare(old, new):
    return compare_editions(
        old,
        new,
        list(old.versions.select_related("provision").in_reading_order()),
        list(new.versions.select_related("provision").in_reading_order()),
    )


def _by_slug(comparison):
    return {change.provision.slug: change for change in comparison.changes}


def test_word_level_redline_of_a_reworded_sentence():
    old = "Investigators must keep records of consent."
    new = "Investigators must keep written records of informed consent."
    assert word_diff(old, new) == [
        (0, "Investigators must keep "),
        (1, "written "),
        (0, "records of "),
        (1, "informed "),
        (0, "consent."),
    ]
    html = redline(old, new)
    assert (
        '<ins><span class="visually-hidden">[inserted: </span>written <span class="visually-hidden">]</span></ins>'
        in html
    )


def test_redline_escapes_the_text():
    assert "&lt;script&gt;" in redline("a", "a <script>")


def test_editions_compare_by_identity(two_editions):
    old, new = two_editions
    changes = _by_slug(_compare(old, new))
    assert changes["section-0"].status == CHANGED
    assert "<ins>" in changes["section-0"].body_redline
    assert "informed" in changes["section-0"].body_redline
    renumbered = changes["section-2"]
    assert renumbered.status == MOVED
    assert renumbered.renumbered
    assert not renumbered.moved
    assert (renumbered.old.number, renumbered.new.number) == ("1.2", "1.9")
    moved = changes["section-4"]
    assert moved.status == MOVED
    assert moved.moved
    assert changes["section-6"].status == REMOVED
    assert changes["new-rule"].status == ADDED
    assert changes["section-1"].status == UNCHANGED
    assert _compare(old, new).counts == {CHANGED: 1, ADDED: 1, REMOVED: 1, MOVED: 2, UNCHANGED: 6}


def test_compare_in_the_other_direction_swaps_added_and_removed(two_editions):
    old, new = two_editions
    changes = _by_slug(_compare(new, old))
    assert changes["new-rule"].status == REMOVED
    assert changes["section-6"].status == ADDED
    assert "<del>" in changes["section-0"].body_redline


def test_compare_page_groups_with_counts_and_redline(client, two_editions):
    old, new = two_editions
    g = old.guideline.slug
    body = client.get(f"/guidelines/{g}/compare/{old.slug}/{new.slug}/").content.decode()
    assert 'id="group-changed">Changed <span class="count">(1)</span>' in body
    assert 'id="group-moved">Moved or renumbered <span class="count">(2)</span>' in body
    assert "Renumbered from 1.2 to 1.9." in body
    assert "<ins>" in body
    assert "[inserted: </span>" in body
    reverse = client.get(f"/guidelines/{g}/compare/{new.slug}/{old.slug}/").content.decode()
    assert 'id="group-added">Added <span class="count">(1)</span>' in reverse
    assert "<del>" in reverse


def test_single_provision_compare_and_what_changed(client, two_editions):
    old, new = two_editions
    g = old.guideline.slug
    single = client.get(f"/guidelines/{g}/compare/{old.slug}/{new.slug}/section-0/")
    assert single.status_code == 200
    assert single.content.decode().count('class="change change--') == 1
    changes = client.get(f"/guidelines/{g}/{new.slug}/changes/").content.decode()
    assert "What changed in 2021" in changes
    assert "Revised." in changes
    first = client.get(f"/guidelines/{g}/{old.slug}/changes/")
    assert "first edition" in first.content.decode()


def test_compare_form_redirects_to_the_compare_url(client, two_editions):
    old, new = two_editions
    g = old.guideline.slug
    response = client.get(f"/guidelines/{g}/compare/", {"old": new.slug, "new": old.slug})
    assert response.url == f"/guidelines/{g}/compare/{new.slug}/{old.slug}/"


def test_unknown_or_draft_editions_are_not_compared_for_the_public(client, two_editions):
    from tests.guidelines.factories import build_edition

    old, _new = two_editions
    build_edition(guideline=old.guideline, label="draft", provisions=10, publish=False)
    assert client.get(f"/guidelines/{old.guideline.slug}/compare/{old.slug}/draft/").status_code == 404


def test_the_email_redline_marks_changes_readably_and_cuts_long_unchanged_runs():
    words = " ".join(f"w{n}" for n in range(60))
    changed = words.replace("w30", "changed")
    text = redline_text(words, changed)
    assert "[-w30-]{+changed+}" in text
    assert text.startswith("… ")
    assert text.endswith(" …")
    assert "w0 " not in text
    assert "w59" not in text
    assert "w18 w19" in text
    html = redline_email_html("a <b> c", "a <x> c")
    assert "&lt;<del style=" in html
    assert ">b</del><ins style=" in html
