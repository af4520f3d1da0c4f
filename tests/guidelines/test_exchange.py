import copy
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from guidelines.exchange import MAX_BODY_CHARS, ImportProblems, edition_export, edition_import
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
