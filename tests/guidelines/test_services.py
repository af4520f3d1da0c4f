import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError

from guidelines.models import Edition, Provision, ProvisionVersion
from guidelines.rendering import content_hash, render_markdown
from guidelines.services import (
    DUPLICATE_NUMBER,
    EMPTY_PROVISION,
    MISSING_PARENT,
    NO_CHANGE_SUMMARY,
    edition_publish,
    edition_start_from,
)
from tests.guidelines.factories import EditionFactory, build_edition

pytestmark = pytest.mark.django_db


def test_markdown_is_rendered_and_sanitised():
    html = render_markdown("**Must** [see](javascript:alert(1)) <script>alert(1)</script>\n\n- one")
    assert "<strong>Must</strong>" in html
    assert "<script>" not in html
    assert 'href="javascript' not in html
    assert "<li>one</li>" in html


def test_content_hash_follows_the_wording_not_the_number():
    edition = build_edition(provisions=3, publish=False)
    version = edition.versions.get(number="1.1")
    before = version.content_hash
    version.number = "4.2"
    version.save()
    assert version.content_hash == before
    version.body = "New words."
    version.save()
    assert version.content_hash == content_hash(version.heading, "New words.") != before


def test_current_is_the_latest_published_original_of_each_guideline():
    first = build_edition(label="2016", published_on=datetime.date(2016, 1, 1))
    second = build_edition(guideline=first.guideline, label="2021", published_on=datetime.date(2021, 1, 1))
    build_edition(guideline=first.guideline, label="draft", publish=False)
    EditionFactory(guideline=first.guideline, label="2021-es", translation_of=second, language="es")
    other = build_edition(label="2019", published_on=datetime.date(2019, 1, 1))
    assert set(Edition.objects.current()) == {second, other}
    assert set(Edition.objects.published()) == {first, second, other}


def test_start_from_copies_every_version_keeping_identity():
    published = build_edition(provisions=12)
    draft = edition_start_from(edition=published, label="2021", slug="2021")
    assert draft.status == Edition.Status.DRAFT
    copied = {(v.provision_id, v.number, v.heading, v.parent_id, v.content_hash) for v in draft.versions.all()}
    original = {(v.provision_id, v.number, v.heading, v.parent_id, v.content_hash) for v in published.versions.all()}
    assert copied == original
    assert Provision.objects.filter(guideline=published.guideline).count() == 12


def test_publish_names_every_problem_and_publishes_nothing():
    published = build_edition(provisions=4)
    draft = edition_start_from(edition=published, label="2021", slug="2021")
    ProvisionVersion.objects.filter(edition=draft, number="1.1").update(number="2.1")  # duplicate number
    ProvisionVersion.objects.filter(edition=draft, number="2").update(heading="", body_text="")  # nothing in it
    ProvisionVersion.objects.filter(edition=draft, number="1").delete()  # orphans 2.1's former sibling
    with pytest.raises(ValidationError) as error:
        edition_publish(edition=draft)
    messages = error.value.messages
    assert str(NO_CHANGE_SUMMARY) in messages
    assert any(message.startswith(str(DUPLICATE_NUMBER).split("%")[0]) for message in messages)
    assert str(EMPTY_PROVISION % {"number": "2"}) in messages
    assert str(MISSING_PARENT % {"number": "2.1"}) in messages
    draft.refresh_from_db()
    assert draft.status == Edition.Status.DRAFT


@time_machine.travel(datetime.datetime(2025, 8, 14, 9, 0, tzinfo=datetime.UTC), tick=False)
def test_publish_makes_the_draft_current_and_records_it():
    published = build_edition(provisions=4)
    draft = edition_start_from(edition=published, label="2025", slug="2025")
    Edition.objects.filter(pk=draft.pk).update(change_summary="Targeted update.")
    edition = edition_publish(edition=draft)
    assert edition.published_on == datetime.date(2025, 8, 14)
    assert Edition.objects.current().get(guideline=published.guideline) == edition
    assert edition.history.first().history_change_reason == "Published"
