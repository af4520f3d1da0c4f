"""Editors see, per translated edition, which provisions were translated from an older source text."""

import pytest
from django.urls import reverse

from guidelines.exchange import edition_export, edition_import

pytestmark = pytest.mark.django_db


def _translate(*, source, older, language, stale_slugs):
    data = edition_export(edition=source)
    data["edition"].update(
        {"slug": f"{source.slug}-{language}", "label": f"{source.label} ({language})", "language": language}
    )
    data["edition"]["translation_of"] = source.slug
    old_text = {v.provision.uid: v.content_hash for v in older.versions.select_related("provision")}
    for item in data["provisions"]:
        # A stale provision was translated from its older wording, which the source has since changed.
        item["source_hash"] = old_text.get(item["uid"]) if item["slug"] in stale_slugs else item["content_hash"]
    return edition_import(data=data, publish=True)


def test_admin_lists_out_of_date_provisions_per_translation_with_counts(
    superuser_client, two_editions, django_assert_max_num_queries
):
    old, new = two_editions
    spanish = _translate(source=new, older=old, language="es", stale_slugs={"section-0"})
    french = _translate(source=new, older=old, language="fr", stale_slugs=set())
    url = reverse("admin:guidelines_edition_translations")
    with django_assert_max_num_queries(12):
        response = superuser_client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    spanish_row = body.split(f'id="edition-{spanish.pk}"')[1].split("</tr>")[0]
    french_row = body.split(f'id="edition-{french.pk}"')[1].split("</tr>")[0]
    total = new.versions.count()
    assert f'<td class="num">{total}</td>' in spanish_row
    assert '<td class="num"><strong>1</strong></td>' in spanish_row
    assert '<td class="num"><strong>0</strong></td>' in french_row
    reworded = new.versions.get(provision__slug="section-0")
    assert f"<li>{reworded.number} {reworded.heading}</li>" in body
    # The reader shows the same flag on the same provision.
    assert superuser_client.get(spanish.get_absolute_url()).content.decode().count("may be out of date") == 1
    changelist = superuser_client.get(reverse("admin:guidelines_edition_changelist")).content.decode()
    assert f'href="{url}"' in changelist


def test_staff_without_edition_access_cannot_open_it(staff_client):
    assert staff_client.get(reverse("admin:guidelines_edition_translations")).status_code == 403
