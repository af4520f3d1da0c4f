"""Demo site content: the About page (about.md), six topics and 30 news articles (news.csv, one shared body in
article.md) published over the last five months or scheduled for the coming weeks, plus one draft.
Idempotent: pages and articles are matched by slug."""

import csv
import datetime
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sites.models import Site
from django.utils import timezone

from society.models import ArticleStatus, Audience, NewsArticle, Page, Topic

DEMO_DIR = Path(__file__).resolve().parent
TOPICS = {
    "meetings": "Meetings",
    "policy": "Policy",
    "guidelines": "Guidelines",
    "awards": "Awards",
    "education": "Education",
    "members": "Members",
}


def _text(name: str) -> str:
    return (DEMO_DIR / name).read_text(encoding="utf-8")


def seed(command):
    domain = urlsplit(settings.SITE_URL).netloc or "localhost:8000"
    Site.objects.update_or_create(pk=settings.SITE_ID, defaults={"domain": domain, "name": settings.SOCIETY_NAME})
    seed_pages()
    seed_news()


def seed_pages():
    Page.objects.get_or_create(
        slug=Page.ABOUT_SLUG,
        defaults={
            "title": "About the society",
            "summary": "What the society is, what it does and who belongs to it.",
            "body": _text("about.md").format(name=settings.SOCIETY_NAME),
        },
    )


def seed_news():
    topics = {slug: Topic.objects.get_or_create(slug=slug, defaults={"name": name})[0] for slug, name in TOPICS.items()}
    author = get_user_model().objects.filter(is_staff=True).order_by("pk").first()
    body = _text("article.md").format(guidelines_url="/guidelines/")
    # Times relative to the first run, rounded to the hour so demo dates look like an editor chose them.
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    with (DEMO_DIR / "news.csv").open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    for row in rows:
        days = int(row["days from now"])
        article, created = NewsArticle.objects.get_or_create(
            slug=row["slug"],
            defaults={
                "title": row["title"],
                "summary": f"{row['title']}: what the society's members and the public need to know.",
                "body": body,
                "status": ArticleStatus.PUBLISHED,
                "publish_at": now + datetime.timedelta(days=days, hours=9 if days > 0 else 0),
                "audience": Audience.MEMBERS if row["members only"] == "yes" else Audience.PUBLIC,
                "pinned": row["pinned"] == "yes",
                "author": author,
            },
        )
        if created:
            article.topics.set([topics[slug] for slug in row["topics"].split()])
            # Written when it went live (or now, for scheduled ones), not at the moment of seeding.
            written = min(article.publish_at, timezone.now())
            NewsArticle.objects.filter(pk=article.pk).update(created_at=written, updated_at=written)
    NewsArticle.objects.get_or_create(
        slug="draft-position-statement",
        defaults={
            "title": "Draft: position statement on commercial cord blood banking",
            "summary": "A draft the policy committee is still revising.",
            "body": "Not yet for publication.",
            "status": ArticleStatus.DRAFT,
        },
    )
