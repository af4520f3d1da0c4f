import copy
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from guidelines.exchange import MAX_BODY_CHARS, ImportProblems, edition_export, edition_file_read, edition_import
from guidelines.models import Edition, Guideline, Provision, ProvisionVersion
from tests.guidelines.factories import build_edition

pytestmark = pytest.mark.django_db


def _comparable(export):
    return [
        (item["uid"], item["slug"], item["number"], item["heading"], item["kind"], item["parent"], item["body"])
        for item in export["provisions"]
    ]


def test_export_then_import_round_trips(tmp_path):
    original = build_edition(provisions=12)
    exported = edition_export(edition=original)
    exported["edition"]["slug"] = "copy"
    path = tmp_path / "edition.json"
    path.write_text(json.dumps(exported))
    out = io.StringIO()
    call_command("import_edition", str(path), "--publish", stdout=out)
    imported = Edition.objects.get(guideline=original.guideline, slug="copy")
    assert "Imported" in out.getvalue()
    assert imported.is_published
    assert _comparable(edition_export(edition=imported)) == _comparable(edition_export(edition=original))
    # Known uids kept their identity: no new provisions.
    assert Provision.objects.filter(guideline=original.guideline).count() == 12
    assert {v.provision_id for v in imported.versions.all()} == {v.provision_id for v in original.versions.all()}


def test_import_creates_new_provisions_for_new_uids_and_a_draft_by_default():
    original = build_edition(provisions=4)
    data = edition_export(edition=original)
    data["edition"]["slug"] = "2021"
    data["provisions"].append(
        {"uid": "brand-new", "slug": "brand-new", "number": "3", "heading": "New", "kind": "part", "body": "New."}
    )
    edition = edition_import(data=data)
    assert edition.status == Edition.Status.DRAFT
    assert Provision.objects.get(uid="brand-new").versions.get().edition == edition


def test_broken_file_names_each_problem_and_writes_nothing(tmp_path):
    original = build_edition(provisions=4)
    data = edition_export(edition=original)
    data["edition"]["slug"] = "broken"
    broken = copy.deepcopy(data)
    broken["provisions"][0]["heading"] = 7
    broken["provisions"][1]["uid"] = broken["provisions"][2]["uid"]
    broken["provisions"][3]["number"] = broken["provisions"][2]["number"]
    broken["provisions"][2]["parent"] = "nowhere"
    broken["provisions"][3]["body"] = "x" * (MAX_BODY_CHARS + 1)
    counts = (Edition.objects.count(), ProvisionVersion.objects.count(), Provision.objects.count())
    with pytest.raises(ImportProblems) as error:
        edition_import(data=broken)
    problems = error.value.messages
    assert "provisions[0].heading: must be text" in problems
    assert any(p.startswith("provisions[2].uid:") and "provisions[1]" in p for p in problems)
    assert any(p.startswith("provisions[3].number:") and "provisions[2]" in p for p in problems)
    assert any(p.startswith("provisions[2].parent:") and "nowhere" in p for p in problems)
    assert any(p.startswith("provisions[3].body:") for p in problems)
    assert (Edition.objects.count(), ProvisionVersion.objects.count(), Provision.objects.count()) == counts

    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_edition", str(path), stderr=err)
    assert "provisions[0].heading: must be text" in err.getvalue()


def test_import_into_a_new_guideline_named_on_the_command_line(tmp_path):
    data = edition_export(edition=build_edition(provisions=3))
    data["guideline"]["title"] = "Imported guideline"
    path = tmp_path / "edition.json"
    path.write_text(json.dumps(data))
    call_command("import_edition", str(path), "--guideline", "imported", stdout=io.StringIO())
    assert Guideline.objects.get(slug="imported").editions.get().versions.count() == 3


def test_import_rejects_invalid_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("import_edition", str(path))


def test_json_export_view_serves_the_edition(client):
    edition = build_edition(provisions=3)
    response = client.get(f"/guidelines/{edition.guideline.slug}/{edition.slug}.json")
    assert response.status_code == 200
    payload = response.json()
    assert payload["edition"]["label"] == "2016"
    assert [p["number"] for p in payload["provisions"]] == ["1", "1.1", "2"]
    assert payload["provisions"][1]["html"].startswith("<p>")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda d: d.update(provisions="not a list"),
        lambda d: d["provisions"].__setitem__(0, "not an object"),
        lambda d: d["provisions"][0].update(parent=["a", "list"], uid=7, kind={}),
        lambda d: d["edition"].update(translation_of=["x"], language="xx", published_on="May 2021"),
        lambda d: d.update(edition=None),
    ],
)
def test_malformed_files_are_reported_not_crashed(mangle):
    data = edition_export(edition=build_edition(provisions=3))
    data["edition"]["slug"] = "other"
    mangle(data)
    with pytest.raises(ImportProblems) as error:
        edition_import(data=data)
    assert error.value.messages


# --- Every value checked before anything is written ---------------------------------------------------------


def _valid_file():
    data = edition_export(edition=build_edition(provisions=3))
    data["edition"]["slug"] = "other"
    return data


@pytest.mark.parametrize(
    ("mangle", "expected"),
    [
        (lambda d: d["guideline"].update(slug="x bad!"), "guideline.slug: “x bad!” is not a slug"),
        (lambda d: d["guideline"].update(slug="search"), "guideline.slug: “search” is a word the site's URLs use"),
        (lambda d: d["guideline"].update(slug="s" * 101), "guideline.slug: longer than 100 characters"),
        (lambda d: d["guideline"].update(slug="new", title=2028), "guideline.title: must be text"),
        (lambda d: d["guideline"].update(slug="new", title="T" * 301), "guideline.title: longer than 300 characters"),
        (lambda d: d["guideline"].update(summary=["a", "list"]), "guideline.summary: must be text"),
        (lambda d: d.update(guideline=["a", "list"]), "guideline: must be an object"),
        (lambda d: d["edition"].update(slug="feed"), "edition.slug: “feed” is a word the site's URLs use"),
        (lambda d: d["edition"].update(slug="changes"), "edition.slug: “changes” is a word the site's URLs use"),
        (lambda d: d["edition"].update(slug="ünïcode"), "edition.slug: “ünïcode” is not a slug"),
        (lambda d: d["edition"].update(label=2028), "edition.label: must be text"),
        (lambda d: d["edition"].update(doi="10.1/" + "x" * 200), "edition.doi: longer than 200 characters"),
        (lambda d: d["edition"].update(kind=["full"]), "edition.kind: must be one of"),
        (lambda d: d["edition"].update(published_on=20280501), "edition.published_on: not a date"),
        (lambda d: d["edition"].update(translation_of="a b"), "edition.translation_of: “a b” is not a slug"),
        (lambda d: d["provisions"][0].update(heading=12), "provisions[0].heading: must be text"),
        (lambda d: d["provisions"][1].update(uid="n" * 65, slug="fresh"), "provisions[1].uid: longer than 64"),
        (lambda d: d["provisions"][1].update(uid="fresh", slug="preview"), "provisions[1].slug: “preview” is a word"),
        (lambda d: d["provisions"][1].update(uid="fresh", slug="a/b"), "provisions[1].slug: “a/b” is not a slug"),
        (lambda d: d["provisions"][2].update(source_hash="h" * 65), "provisions[2].source_hash: longer than 64"),
        (lambda d: d["provisions"][2].update(source_hash="not-hex"), "provisions[2].source_hash: not a content hash"),
        (lambda d: d["provisions"][2].update(change_note="c" * 501), "provisions[2].change_note: longer than 500"),
        (lambda d: d["provisions"][2].update(number="1" * 31), "provisions[2].number: longer than 30"),
        (lambda d: d["provisions"][0].update(body="Text\x00more"), "provisions[0].body: contains a NUL character"),
        (lambda d: d["edition"].update(label="\ud800"), "edition.label: is not valid Unicode text"),
        (lambda d: d.update(extra=[[[[[[[[["deep"]]]]]]]]]), "extra[0][0][0][0][0][0][0]: nested deeper than 8"),
    ],
)
def test_each_bad_value_is_a_located_problem_and_nothing_is_written(mangle, expected):
    data = _valid_file()
    mangle(data)
    counts = (Guideline.objects.count(), Edition.objects.count(), Provision.objects.count())
    with pytest.raises(ImportProblems) as error:
        edition_import(data=data, publish=True)
    assert any(problem.startswith(expected) for problem in error.value.messages), error.value.messages
    assert (Guideline.objects.count(), Edition.objects.count(), Provision.objects.count()) == counts


def test_all_problems_are_listed_at_once():
    data = _valid_file()
    data["guideline"]["slug"] = "x bad!"
    data["edition"].update(label=7, doi=["x"])
    data["provisions"][0].update(heading={"en": "Heading"}, body="\x00")
    with pytest.raises(ImportProblems) as error:
        edition_import(data=data)
    assert [problem.split(":")[0] for problem in error.value.messages] == [
        "provisions[0].body",
        "guideline.slug",
        "edition.label",
        "edition.doi",
        "provisions[0].heading",
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "The file is nested deeper than 8 levels."),
        (b'{"a": ' + b"1" * 5000 + b"}", "The file is not valid JSON"),
        (b"\xff\xfe{}", "The file is not UTF-8 text"),
        (b'{"a": }', "The file is not valid JSON (line 1, column 7)"),
    ],
)
def test_unreadable_files_are_one_clear_problem(raw, expected):
    with pytest.raises(ImportProblems) as error:
        edition_file_read(raw)
    assert error.value.messages[0].startswith(expected)
