import datetime

import factory
from django.utils import timezone

from society.models import ArticleStatus, Audience, NewsArticle, Page, Topic
from tests.factories import StaffFactory


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Topic
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Topic {n}")
    slug = factory.Sequence(lambda n: f"topic-{n}")


class NewsArticleFactory(factory.django.DjangoModelFactory):
    """A public article that went live an hour before 'now' (frozen by the test)."""

    class Meta:
        model = NewsArticle
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Article {n}")
    slug = factory.Sequence(lambda n: f"article-{n}")
    summary = factory.LazyAttribute(lambda o: f"Summary of {o.title}.")
    body = factory.LazyAttribute(lambda o: f"The body of {o.title}.\n\n## Details\n\nMore text.")
    status = ArticleStatus.PUBLISHED
    publish_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(hours=1))
    audience = Audience.PUBLIC
    author = factory.SubFactory(StaffFactory)

    class Params:
        draft = factory.Trait(status=ArticleStatus.DRAFT, publish_at=None)
        members_only = factory.Trait(audience=Audience.MEMBERS)

    @factory.post_generation
    def topics(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.topics.set(extracted)


class PageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Page
        django_get_or_create = ["slug"]

    title = factory.Sequence(lambda n: f"Page {n}")
    slug = factory.Sequence(lambda n: f"page-{n}")
    body = "Some **text** for the page."
