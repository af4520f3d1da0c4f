import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sites.models import Site
from django.utils import timezone

from society.models import ArticleStatus, Audience, NewsArticle, Page, Topic

TOPICS = {
    "meetings": "Meetings",
    "policy": "Policy",
    "guidelines": "Guidelines",
    "awards": "Awards",
    "education": "Education",
    "members": "Members",
}

# (slug, title, topic slugs, days from now (negative: past), members only, pinned)
ARTICLES = [
    (
        "annual-meeting-2027-registration",
        "Registration opens for the 2027 Annual Meeting",
        ["meetings"],
        -2,
        False,
        True,
    ),
    ("guidelines-2026-edition", "The 2026 edition of the Guidelines is published", ["guidelines"], -5, False, False),
    ("statement-unproven-interventions", "Statement on unproven stem cell interventions", ["policy"], -9, False, False),
    ("early-career-award-2026", "Early Career Award 2026: nominations open", ["awards", "members"], -12, False, False),
    ("webinar-organoid-standards", "Webinar: standards for organoid research", ["education"], -15, False, False),
    ("board-minutes-october", "Board minutes, October", ["members"], -18, True, False),
    (
        "consultation-embryo-models",
        "Public consultation on embryo model guidance",
        ["policy", "guidelines"],
        -21,
        False,
        False,
    ),
    (
        "travel-grants-announced",
        "Travel grants for the Annual Meeting announced",
        ["meetings", "awards"],
        -25,
        False,
        False,
    ),
    ("member-survey-results", "Results of the 2026 member survey", ["members"], -28, True, False),
    ("course-clinical-translation", "New course: from bench to clinical trial", ["education"], -32, False, False),
    ("regulators-roundtable", "Regulators' roundtable on cell therapy approval", ["policy"], -36, False, False),
    (
        "guidelines-translation-japanese",
        "The Guidelines are now available in Japanese",
        ["guidelines"],
        -40,
        False,
        False,
    ),
    (
        "lifetime-achievement-award",
        "Lifetime Achievement Award goes to a pioneer of reprogramming",
        ["awards"],
        -45,
        False,
        False,
    ),
    ("regional-meeting-nairobi", "Regional meeting in Nairobi", ["meetings"], -50, False, False),
    ("dues-by-income-band", "Dues set by country income band for 2027", ["members"], -55, False, False),
    (
        "mentoring-programme",
        "Mentoring programme pairs 120 trainees with senior members",
        ["education", "members"],
        -60,
        False,
        False,
    ),
    ("statement-gene-editing", "Statement on heritable human genome editing", ["policy"], -66, False, False),
    ("guidelines-errata", "Errata to the Guidelines, section 3", ["guidelines"], -72, False, False),
    ("committee-elections", "Committee elections: candidates and ballot", ["members"], -80, True, False),
    (
        "summer-school-lisbon",
        "Summer school in Lisbon: applications open",
        ["education", "meetings"],
        -90,
        False,
        False,
    ),
    ("journal-impact", "The society's journal in its tenth year", ["members"], -100, False, False),
    (
        "patient-handbook",
        "A handbook for patients considering stem cell treatments",
        ["policy", "education"],
        -110,
        False,
        False,
    ),
    ("awards-ceremony-recap", "Awards ceremony: this year's honourees", ["awards"], -120, False, False),
    ("annual-report-2025", "Annual report 2025", ["members"], -130, True, False),
    (
        "workshop-data-sharing",
        "Workshop on data sharing in cell therapy trials",
        ["meetings", "policy"],
        -140,
        False,
        False,
    ),
    (
        "guidelines-2025-update",
        "Targeted update of the Guidelines on clinical translation",
        ["guidelines"],
        -150,
        False,
        False,
    ),
    ("annual-meeting-programme", "The 2027 Annual Meeting programme", ["meetings"], 3, False, False),
    (
        "guidelines-2027-consultation",
        "Consultation on the 2027 Guidelines edition",
        ["guidelines", "policy"],
        7,
        False,
        False,
    ),
    ("members-town-hall", "Members' town hall with the President", ["members"], 14, True, False),
    ("award-winners-2027", "Award winners 2027", ["awards"], 30, False, False),
]

BODY = """## What this means

The society works with its members, regulators and patient groups so that research is rigorous and
its translation to the clinic responsible. This announcement is part of that work.

- Read the [Guidelines]({guidelines_url}) for the standards behind it.
- Write to the office at <office@society.example> with questions.

## Next steps

Members will hear more by email; everyone can follow the [news feed](/news/feed/rss/).
"""

ABOUT_BODY = """{name} promotes excellence in stem cell research and its responsible translation to the clinic.

## Our mission

We foster the exchange of scientific information, encourage the rigorous and ethical conduct of research,
and advocate for sound public policy. Our guidelines set out the standards of rigour, oversight and
transparency that laboratories, clinics and regulators rely on.

## Our members

Some 4,000 researchers, clinicians, trainees and industry scientists in more than 65 countries belong to
the society. Dues are set by the income band of each member's country, so that membership is open to
scientists everywhere.

## Contact

Write to the society office at <office@society.example>.
"""


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
            "body": ABOUT_BODY.format(name=settings.SOCIETY_NAME),
        },
    )


def seed_news():
    topics = {slug: Topic.objects.get_or_create(slug=slug, defaults={"name": name})[0] for slug, name in TOPICS.items()}
    # The demo staff user is created by members.demo, which runs after this module on a first run.
    author = get_user_model().objects.filter(is_staff=True).order_by("pk").first()
    # Times relative to the first run, rounded to the hour so demo dates look like an editor chose them.
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    for slug, title, topic_slugs, days, members_only, pinned in ARTICLES:
        summary = f"{title}: what the society's members and the public need to know."
        article, created = NewsArticle.objects.get_or_create(
            slug=slug,
            defaults={
                "title": title,
                "summary": summary,
                "body": BODY.format(guidelines_url="/guidelines/"),
                "status": ArticleStatus.PUBLISHED,
                "publish_at": now + datetime.timedelta(days=days, hours=9 if days > 0 else 0),
                "audience": Audience.MEMBERS if members_only else Audience.PUBLIC,
                "pinned": pinned,
                "author": author,
            },
        )
        if created:
            article.topics.set([topics[topic_slug] for topic_slug in topic_slugs])
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
