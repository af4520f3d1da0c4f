"""Editors in the admin: changelist, scheduled indicator, publish/unpublish actions, draft preview, history."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse

from society.models import ArticleStatus, NewsArticle
from society.services.news import article_publish, article_unpublish
from tests.factories import StaffFactory
from tests.society.factories import NewsArticleFactory, TopicFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.UTC)
HOUR = datetime.timedelta(hours=1)
CHANGELIST = reverse("admin:society_newsarticle_changelist")


@pytest.fixture
def editor(client):
    """A staff user with only the standard news permissions, as the Editors group grants."""
    user = StaffFactory()
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="society",
            codename__in=["view_newsarticle", "change_newsarticle", "add_newsarticle"],
        )
    )
    client.force_login(user)
    return user


@time_machine.travel(NOW, tick=False)
def test_changelist_shows_when_a_scheduled_article_goes_live(client, editor):
    NewsArticleFactory(title="Scheduled", publish_at=NOW + 3 * HOUR)
    NewsArticleFactory(title="Live", publish_at=NOW - HOUR)
    NewsArticleFactory(title="Draft", draft=True)
    body = client.get(CHANGELIST).content.decode()
    assert "goes live 3\xa0hours from now" in body
    assert ">live<" in body
    assert ">not public<" in body


@time_machine.travel(NOW, tick=False)
def test_changelist_filters_by_visibility_and_topic(client, editor):
    topic = TopicFactory(slug="policy")
    NewsArticleFactory(title="Scheduled one", publish_at=NOW + HOUR, topics=[topic])
    NewsArticleFactory(title="Live one", publish_at=NOW - HOUR)
    response = client.get(CHANGELIST, {"live": "scheduled"})
    assert [a.title for a in response.context["cl"].result_list] == ["Scheduled one"]
    response = client.get(CHANGELIST, {"topics__id__exact": topic.pk})
    assert [a.title for a in response.context["cl"].result_list] == ["Scheduled one"]


@pytest.mark.parametrize("count", [10, 300])
@time_machine.travel(NOW, tick=False)
def test_changelist_query_count_is_fixed(client, editor, django_assert_max_num_queries, count):
    topics = [TopicFactory(), TopicFactory()]
    author = StaffFactory()
    for index in range(count):
        NewsArticle.objects.create(
            title=f"A{index}",
            slug=f"a-{index}",
            summary="s",
            body="b",
            status="published",
            publish_at=NOW,
            author=author,
        ).topics.set(topics)
    with django_assert_max_num_queries(12):
        response = client.get(CHANGELIST)
    assert response.status_code == 200


@time_machine.travel(NOW, tick=False)
def test_publish_action_publishes_drafts_now_and_keeps_scheduled_times(client, editor):
    draft = NewsArticleFactory(draft=True)
    scheduled = NewsArticleFactory(status=ArticleStatus.DRAFT, publish_at=NOW + 5 * HOUR)
    response = client.post(
        CHANGELIST, {"action": "publish_selected", "_selected_action": [draft.pk, scheduled.pk]}, follow=True
    )
    assert "2 articles published." in response.content.decode()
    draft.refresh_from_db()
    scheduled.refresh_from_db()
    assert (draft.status, draft.publish_at) == (ArticleStatus.PUBLISHED, NOW)
    assert (scheduled.status, scheduled.publish_at) == (ArticleStatus.PUBLISHED, NOW + 5 * HOUR)


@time_machine.travel(NOW, tick=False)
def test_unpublish_action_takes_an_article_off_the_site_and_records_history(client, editor):
    article = NewsArticleFactory(slug="to-withdraw")
    assert client.get(article.get_absolute_url()).status_code == 200
    client.post(CHANGELIST, {"action": "unpublish_selected", "_selected_action": [article.pk]})
    article.refresh_from_db()
    assert article.status == ArticleStatus.DRAFT
    client.logout()
    assert client.get(article.get_absolute_url()).status_code == 404
    latest = article.history.first()
    assert latest.status == ArticleStatus.DRAFT
    assert latest.history_user == editor


def test_actions_need_the_change_permission(client):
    viewer = StaffFactory()
    viewer.user_permissions.set(Permission.objects.filter(codename="view_newsarticle"))
    client.force_login(viewer)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert "publish_selected" not in response.content.decode()


@time_machine.travel(NOW, tick=False)
def test_services_publish_at_a_given_time_and_unpublish():
    article = NewsArticleFactory(draft=True)
    article = article_publish(article=article, publish_at=NOW + 2 * HOUR)
    assert article.is_scheduled()
    assert not NewsArticle.objects.published().filter(pk=article.pk).exists()
    article = article_unpublish(article=article)
    assert article.status == ArticleStatus.DRAFT
    assert article.publish_at == NOW + 2 * HOUR  # kept for re-publishing
    assert article.history.count() == 3


@time_machine.travel(NOW, tick=False)
def test_editor_previews_a_draft_in_the_public_layout(client, editor):
    draft = NewsArticleFactory(draft=True, title="Work in progress", body="DRAFT-BODY")
    preview = reverse("news:preview", kwargs={"pk": draft.pk})
    response = client.get(preview)
    body = response.content.decode()
    assert response.status_code == 200
    assert "DRAFT-BODY" in body
    assert "Preview: this is a draft" in body
    assert '<meta name="robots" content="noindex, nofollow">' in body
    assert 'class="site-header"' in body
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    change_page = client.get(reverse("admin:society_newsarticle_change", args=[draft.pk])).content.decode()
    assert preview in change_page


@time_machine.travel(NOW, tick=False)
def test_preview_is_for_staff_with_permission_only(client, member):
    draft = NewsArticleFactory(draft=True)
    preview = reverse("news:preview", kwargs={"pk": draft.pk})
    assert client.get(preview)["Location"].startswith(reverse("account_login"))
    client.force_login(member)
    assert client.get(preview).status_code == 403
    client.force_login(StaffFactory())  # staff, but not an editor
    assert client.get(preview).status_code == 403


@time_machine.travel(NOW, tick=False)
def test_add_form_defaults_to_now_and_the_editor_as_author(client, editor):
    response = client.get(reverse("admin:society_newsarticle_add"))
    form = response.context["adminform"].form
    assert form.initial["publish_at"] == NOW
    assert form.initial["author"] == editor.pk


@time_machine.travel(NOW, tick=False)
def test_published_article_needs_a_time_at_the_database_and_in_forms():
    from django.core.exceptions import ValidationError
    from django.db import IntegrityError, transaction

    article = NewsArticleFactory.build(status=ArticleStatus.PUBLISHED, publish_at=None, author=None)
    with pytest.raises(ValidationError, match="needs a publication time"):
        article.full_clean(exclude=["author"])
    with pytest.raises(IntegrityError), transaction.atomic():
        article.save()
