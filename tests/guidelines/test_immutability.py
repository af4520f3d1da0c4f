"""A published edition and its text cannot change, whichever way a write arrives; drafts stay editable."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, InternalError, connection, transaction
from django.urls import reverse

from guidelines.models import Edition, Provision, ProvisionVersion
from guidelines.services import PUBLISHED_IS_IMMUTABLE, edition_publish, provision_version_save
from tests.guidelines.factories import build_edition

pytestmark = pytest.mark.django_db


@pytest.fixture
def published():
    return build_edition(provisions=4)


def test_service_refuses_to_edit_published_text(published):
    version = published.versions.first()
    version.body = "Rewritten."
    with pytest.raises(ValidationError) as error:
        provision_version_save(version=version)
    assert error.value.messages == [str(PUBLISHED_IS_IMMUTABLE % {"edition": published})]
    version.refresh_from_db()
    assert version.body != "Rewritten."


def test_service_refuses_to_publish_twice(published):
    with pytest.raises(ValidationError):
        edition_publish(edition=published)


def test_queryset_update_of_published_text_is_refused_by_the_database(published):
    with pytest.raises(IntegrityError, match="cannot change"), transaction.atomic():
        ProvisionVersion.objects.filter(edition=published).update(body="Rewritten.")
    assert not ProvisionVersion.objects.filter(body="Rewritten.").exists()


def test_raw_sql_update_and_delete_of_published_text_are_refused(published):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE guidelines_provisionversion SET heading = 'x' WHERE edition_id = %s", [published.pk])
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM guidelines_provisionversion WHERE edition_id = %s", [published.pk])
    assert published.versions.count() == 4


def test_adding_a_provision_to_a_published_edition_is_refused(published):
    provision = Provision.objects.create(guideline=published.guideline, slug="late")
    with pytest.raises(IntegrityError), transaction.atomic():
        ProvisionVersion.objects.create(edition=published, provision=provision, number="9", heading="Late")


def test_published_edition_row_cannot_be_updated_or_deleted(published):
    with pytest.raises(IntegrityError), transaction.atomic():
        Edition.objects.filter(pk=published.pk).update(label="Changed")
    with pytest.raises(IntegrityError), transaction.atomic():
        Edition.objects.filter(pk=published.pk).delete()
    published.refresh_from_db()
    assert published.label == "2016"


def test_provisions_are_never_deleted(published):
    draft = build_edition(guideline=published.guideline, label="draft", provisions=6, publish=False)
    draft.delete()  # a draft may go, with its versions, but not the provisions it introduced
    orphan = Provision.objects.get(guideline=published.guideline, slug="section-3")
    assert not orphan.versions.exists()
    with pytest.raises(InternalError, match="Cannot delete rows"), transaction.atomic():
        orphan.delete()
    assert Provision.objects.filter(guideline=published.guideline).count() == 6


def test_admin_shows_published_edition_read_only_and_refuses_a_post(superuser_client, published):
    url = reverse("admin:guidelines_edition_change", args=[published.pk])
    page = superuser_client.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    response = superuser_client.post(url, {"label": "Changed", "slug": "changed"})
    assert response.status_code == 403
    published.refresh_from_db()
    assert published.label == "2016"


def test_admin_edits_a_draft_inline(superuser_client):
    draft = build_edition(label="draft", provisions=3, publish=False)
    version = draft.versions.get(number="1")
    url = reverse("admin:guidelines_edition_change", args=[draft.pk])
    versions = list(draft.versions.order_by("pk"))
    data = {
        "guideline": draft.guideline.pk,
        "label": "Draft",
        "slug": "draft",
        "kind": "full",
        "language": "en",
        "change_summary": "Edited.",
        "versions-TOTAL_FORMS": str(len(versions) + 1),
        "versions-INITIAL_FORMS": str(len(versions)),
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000",
    }
    for index, item in enumerate(versions):
        prefix = f"versions-{index}-"
        data.update(
            {
                prefix + "id": item.pk,
                prefix + "edition": draft.pk,
                prefix + "number": item.number,
                prefix + "heading": "Renamed principles" if item.pk == version.pk else item.heading,
                prefix + "kind": item.kind,
                prefix + "provision": item.provision_id,
                prefix + "parent": item.parent_id or "",
                prefix + "order": item.order,
                prefix + "body": item.body,
                prefix + "change_note": "",
            }
        )
    new = f"versions-{len(versions)}-"
    data.update(
        {
            new + "edition": draft.pk,
            new + "number": "3",
            new + "heading": "A new provision",
            new + "kind": "section",
            new + "provision": "",
            new + "parent": "",
            new + "order": "9000",
            new + "body": "New text.",
            new + "change_note": "Added.",
        }
    )
    response = superuser_client.post(url, data)
    assert response.status_code == 302, response.context["errors"] if response.context else response
    version.refresh_from_db()
    assert version.heading == "Renamed principles"
    added = draft.versions.get(number="3")
    assert added.provision.slug == "a-new-provision"
    assert version.history.count() >= 1


def test_drafts_stay_editable_through_every_path():
    draft = build_edition(label="draft", provisions=3, publish=False)
    assert ProvisionVersion.objects.filter(edition=draft).update(change_note="ok") == 3
    version = draft.versions.first()
    version.body = "Edited *draft*."
    provision_version_save(version=version)
    version.refresh_from_db()
    assert version.body_html == "<p>Edited <em>draft</em>.</p>"
    assert Edition.objects.filter(pk=draft.pk).update(published_on=datetime.date(2020, 1, 1)) == 1
