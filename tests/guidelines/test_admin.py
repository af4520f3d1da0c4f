import io
import json

import pytest
from django.urls import reverse

from guidelines.exchange import edition_export
from guidelines.models import Edition
from tests.factories import StaffFactory
from tests.guidelines.factories import build_edition

pytestmark = pytest.mark.django_db


def test_changelist_query_count_is_fixed(superuser_client, django_assert_max_num_queries):
    for label in ("2016", "2017", "2018"):
        build_edition(label=label, provisions=20)
    with django_assert_max_num_queries(12):
        response = superuser_client.get(reverse("admin:guidelines_edition_changelist"))
    assert response.status_code == 200
    assert "2018" in response.content.decode()


def test_start_new_edition_and_publish_actions(superuser_client):
    published = build_edition(provisions=5)
    url = reverse("admin:guidelines_edition_changelist")
    response = superuser_client.post(url, {"action": "start_new_edition", "_selected_action": [published.pk]})
    draft = Edition.objects.drafts().get()
    assert response.url == reverse("admin:guidelines_edition_change", args=[draft.pk])
    assert draft.versions.count() == 5
    # Not ready: no change summary. The problem is reported and nothing is published.
    Edition.objects.filter(pk=draft.pk).update(change_summary="")
    response = superuser_client.post(url, {"action": "publish", "_selected_action": [draft.pk]}, follow=True)
    assert "The edition has no change summary." in response.content.decode()
    Edition.objects.filter(pk=draft.pk).update(change_summary="Ready.")
    superuser_client.post(url, {"action": "publish", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.is_published


def test_import_upload_reports_problems_and_imports_a_valid_file(superuser_client):
    published = build_edition(provisions=3)
    data = edition_export(edition=published)
    data["edition"]["slug"] = "uploaded"
    url = reverse("admin:guidelines_edition_import")
    broken = json.loads(json.dumps(data))
    broken["provisions"][0]["number"] = ""
    response = superuser_client.post(url, {"file": _upload(broken)})
    assert "provisions[0].number: missing" in response.content.decode()
    assert not Edition.objects.filter(slug="uploaded").exists()
    response = superuser_client.post(url, {"file": _upload(data)})
    assert Edition.objects.get(slug="uploaded").versions.count() == 3


def _upload(data):
    upload = io.BytesIO(json.dumps(data).encode())
    upload.name = "edition.json"
    return upload


def test_editors_manage_texts_but_not_webhook_secrets_nor_subscriptions():
    from django.contrib.auth.models import Group

    from guidelines.apps import EDITORS_GROUP, ensure_editors_group
    from members.services.accounts import groups_sync

    for sync in (lambda: ensure_editors_group(sender=None), groups_sync):
        sync()
        models = set(
            Group.objects.get(name=EDITORS_GROUP)
            .permissions.filter(content_type__app_label="guidelines")
            .values_list("content_type__model", flat=True)
        )
        assert {"edition", "provisionversion", "historicaledition"} <= models
        assert not {model for model in models if "webhook" in model or "subscription" in model}


def test_editors_group_can_edit_drafts_but_only_view_published(client):
    from django.contrib.auth.models import Group

    from guidelines.apps import EDITORS_GROUP, ensure_editors_group

    ensure_editors_group(sender=None)
    editor = StaffFactory()
    editor.groups.add(Group.objects.get(name=EDITORS_GROUP))
    client.force_login(editor)
    published = build_edition(provisions=3)
    draft = build_edition(guideline=published.guideline, label="draft", provisions=3, publish=False)
    assert client.get(reverse("admin:guidelines_edition_change", args=[draft.pk])).status_code == 200
    view = client.get(reverse("admin:guidelines_edition_change", args=[published.pk]))
    assert view.status_code == 200
    assert 'name="_save"' not in view.content.decode()
