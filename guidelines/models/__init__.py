"""The guidelines library: a guideline (the work), its editions, and provisions that keep their identity
across editions while their number, place and wording change.

A published edition never changes. The services refuse it, the admin shows it read-only, and database
triggers (django-pgtrigger) refuse any UPDATE or DELETE of a published edition or its provision versions,
so not even QuerySet.update() or raw SQL can rewrite what readers have cited. Mistakes are fixed by
publishing a correction edition.
"""

import uuid

import pgtrigger
from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from guidelines.rendering import content_hash, html_to_text, render_markdown

# The fixed words of the URLs under /guidelines/ (guidelines/urls.py; a test keeps the two in step). Guideline,
# edition and provision slugs share those URL segments, so none may be one of these words.
RESERVED_SLUGS = ("changes", "compare", "current", "feed", "history", "preview", "search")
# What the <slug:…> URL converter matches: a slug outside it would make reverse() fail on every page listing
# it (the home page, the library, the feed, the sitemap), so the database refuses it.
SLUG_PATTERN = r"^[-a-zA-Z0-9_]+$"


def slug_constraints(prefix: str) -> list[models.CheckConstraint]:
    return [
        models.CheckConstraint(condition=~Q(slug__in=RESERVED_SLUGS), name=f"{prefix}_slug_not_reserved"),
        models.CheckConstraint(condition=Q(slug__regex=SLUG_PATTERN), name=f"{prefix}_slug_is_url_slug"),
    ]


# The Postgres text search configuration for each language an edition can be in: stemming and stop words
# in the text's own language. Languages Postgres has no configuration for (Chinese, Japanese) are indexed
# word by word with 'simple', which still finds exact words.
SEARCH_CONFIGS = {"en": "english", "es": "spanish", "fr": "french", "de": "german", "pt": "portuguese"}
# Regulations number most paragraphs without a heading; wherever provisions are listed, the first words of
# such a paragraph's text stand in for the heading it lacks, so a list of them is not a column of numbers.
LEAD_WORDS = 10


def search_config(language):
    return SEARCH_CONFIGS.get(language, "simple")


def heading_or_lead(heading: str, text: str) -> str:
    """The heading, or the first LEAD_WORDS words of the plain text (cut at a word, with an ellipsis)."""
    heading = (heading or "").strip()
    if heading:
        return heading
    return Truncator(" ".join((text or "").split())).words(LEAD_WORDS)


def _language_search_vector():
    """heading (weight A) + text (weight B), each parsed with the configuration of the row's language."""

    def vector(config):
        return SearchVector("heading", weight="A", config=config) + SearchVector("body_text", weight="B", config=config)

    return models.Case(
        *[models.When(language=code, then=vector(config)) for code, config in SEARCH_CONFIGS.items()],
        default=vector("simple"),
        output_field=SearchVectorField(),
    )


class Guideline(models.Model):
    title = models.CharField(_("title"), max_length=300)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    summary = models.TextField(_("summary"), blank=True)
    order = models.PositiveIntegerField(pgettext_lazy("sort position", "order"), default=0)

    class Meta:
        ordering = ["order", "title"]
        verbose_name = _("guideline")
        verbose_name_plural = _("guidelines")
        constraints = slug_constraints("guideline")

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("guidelines:guideline", kwargs={"guideline": self.slug})


class EditionQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=Edition.Status.PUBLISHED)

    def drafts(self):
        return self.filter(status=Edition.Status.DRAFT)

    def originals(self):
        """Editions in the guideline's own text, not translations."""
        return self.filter(translation_of__isnull=True)

    def chronological(self):
        return self.order_by("published_on", "pk")

    def current(self):
        """The current edition of each guideline: its latest published original. Superseded is derived from
        this, never stored, so publishing one edition is all it takes to supersede the previous one."""
        # DISTINCT ON makes this an uncorrelated subquery that Postgres runs once, not once per outer row.
        latest = (
            Edition.objects.published()
            .originals()
            .order_by("guideline_id", "-published_on", "-pk")
            .distinct("guideline_id")
            .values("pk")
        )
        return self.filter(pk__in=latest)


class EditionKind(models.TextChoices):
    FULL = "full", _("Full edition")
    TARGETED_UPDATE = "targeted_update", _("Targeted update")
    CORRECTION = "correction", _("Correction")


class EditionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")


class ProvisionKind(models.TextChoices):
    PART = "part", _("Part")
    SECTION = "section", _("Section")
    RECOMMENDATION = "recommendation", _("Recommendation")


class Edition(models.Model):
    Kind = EditionKind
    Status = EditionStatus

    guideline = models.ForeignKey(
        Guideline, verbose_name=_("guideline"), on_delete=models.PROTECT, related_name="editions"
    )
    label = models.CharField(_("label"), max_length=100, help_text=_("For example “2021” or “2025 targeted update”."))
    slug = models.SlugField(_("slug"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.FULL)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    published_on = models.DateField(_("published on"), null=True, blank=True)
    effective_on = models.DateField(_("effective from"), null=True, blank=True)
    change_summary = models.TextField(_("change summary"), blank=True, help_text=_("Markdown."))
    change_summary_html = models.TextField(editable=False, blank=True)
    doi = models.CharField(_("DOI"), max_length=200, blank=True)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="en")
    translation_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="translations",
        verbose_name=_("translation of"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["change_summary_html"])
    objects = EditionQuerySet.as_manager()

    class Meta:
        ordering = ["guideline", "published_on", "pk"]
        verbose_name = _("edition")
        verbose_name_plural = _("editions")
        constraints = [
            models.UniqueConstraint(fields=["guideline", "slug"], name="edition_unique_slug_per_guideline"),
            models.UniqueConstraint(
                fields=["translation_of", "language"],
                condition=Q(translation_of__isnull=False),
                name="edition_one_translation_per_language",
            ),
            models.CheckConstraint(condition=Q(kind__in=EditionKind.values), name="edition_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=EditionStatus.values), name="edition_status_valid"),
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_on__isnull=False),
                name="edition_published_has_date",
            ),
            *slug_constraints("edition"),
            models.CheckConstraint(
                condition=Q(translation_of__isnull=True) | ~Q(translation_of=models.F("pk")),
                name="edition_not_translation_of_itself",
            ),
        ]
        triggers = [
            pgtrigger.Trigger(
                name="edition_published_is_immutable",
                operation=pgtrigger.Update | pgtrigger.Delete,
                when=pgtrigger.Before,
                condition=pgtrigger.Q(old__status="published"),
                func="RAISE EXCEPTION 'guidelines: published edition % cannot be changed or deleted', OLD.id "
                "USING ERRCODE = 'integrity_constraint_violation';",
            ),
            # A draft whose language is corrected re-indexes its text in the new language.
            pgtrigger.Trigger(
                name="edition_language_reindexes_text",
                operation=pgtrigger.Update,
                when=pgtrigger.After,
                condition=pgtrigger.Condition("OLD.language IS DISTINCT FROM NEW.language"),
                func="UPDATE guidelines_provisionversion SET language = NEW.language WHERE edition_id = NEW.id; "
                "RETURN NULL;",
            ),
        ]

    def __str__(self):
        return f"{self.guideline} — {self.label}"

    def save(self, *args, **kwargs):
        self.change_summary_html = render_markdown(self.change_summary)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("guidelines:edition", kwargs={"guideline": self.guideline.slug, "edition": self.slug})

    @property
    def is_published(self):
        return self.status == self.Status.PUBLISHED

    @property
    def is_translation(self):
        return self.translation_of_id is not None


class Provision(models.Model):
    """The identity of a section or recommendation across editions. Never deleted, so that every edition
    that ever contained it, and every citation of it, can still be resolved."""

    guideline = models.ForeignKey(
        Guideline, verbose_name=_("guideline"), on_delete=models.PROTECT, related_name="provisions"
    )
    uid = models.CharField(_("stable identifier"), max_length=64, default=uuid.uuid4, editable=True)
    slug = models.SlugField(_("slug"), max_length=120, help_text=_("The readable part of its permanent URL."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["guideline", "slug"]
        verbose_name = _("provision")
        verbose_name_plural = _("provisions")
        constraints = [
            models.UniqueConstraint(fields=["guideline", "uid"], name="provision_unique_uid_per_guideline"),
            models.UniqueConstraint(fields=["guideline", "slug"], name="provision_unique_slug_per_guideline"),
            *slug_constraints("provision"),
        ]
        triggers = [pgtrigger.Protect(name="provision_never_deleted", operation=pgtrigger.Delete)]

    def __str__(self):
        return self.slug


class ProvisionVersionQuerySet(models.QuerySet):
    def published(self):
        return self.filter(edition__status=Edition.Status.PUBLISHED)

    def in_reading_order(self):
        return self.order_by("order", "pk")


# Refuses writes to the text of a published edition, whichever way they arrive (ORM, bulk, raw SQL).
# An INSERT is checked too: adding a provision to a published edition changes its text as much as editing one.
_PROTECT_PUBLISHED_TEXT = """
IF TG_OP IN ('UPDATE', 'DELETE') AND EXISTS (
    SELECT 1 FROM guidelines_edition WHERE id = OLD.edition_id AND status = 'published'
) THEN
    RAISE EXCEPTION 'guidelines: the text of published edition % cannot change', OLD.edition_id
        USING ERRCODE = 'integrity_constraint_violation';
END IF;
IF TG_OP IN ('UPDATE', 'INSERT') AND EXISTS (
    SELECT 1 FROM guidelines_edition WHERE id = NEW.edition_id AND status = 'published'
) THEN
    RAISE EXCEPTION 'guidelines: the text of published edition % cannot change', NEW.edition_id
        USING ERRCODE = 'integrity_constraint_violation';
END IF;
IF TG_OP = 'DELETE' THEN
    RETURN OLD;
END IF;
RETURN NEW;
"""


class ProvisionVersion(models.Model):
    """A provision's text in one edition."""

    Kind = ProvisionKind

    edition = models.ForeignKey(Edition, verbose_name=_("edition"), on_delete=models.CASCADE, related_name="versions")
    provision = models.ForeignKey(
        Provision, verbose_name=_("provision"), on_delete=models.PROTECT, related_name="versions"
    )
    number = models.CharField(_("number"), max_length=30, help_text=_("For example “3.2.1”."))
    heading = models.CharField(_("heading"), max_length=300, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.SECTION)
    parent = models.ForeignKey(
        Provision,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="child_versions",
        verbose_name=_("parent"),
        help_text=_("The part or section this one sits in, in the same edition."),
    )
    order = models.PositiveIntegerField(pgettext_lazy("sort position", "order"), default=0)
    body = models.TextField(_("text"), blank=True, help_text=_("Markdown."))
    change_note = models.CharField(_("change note"), max_length=500, blank=True)
    # For a translation: the content hash of the source text it was translated from; when the source
    # edition's text differs, the translation is flagged as possibly out of date.
    source_hash = models.CharField(max_length=64, blank=True, editable=False)
    body_html = models.TextField(editable=False, blank=True)
    body_text = models.TextField(editable=False, blank=True)
    content_hash = models.CharField(max_length=64, editable=False, blank=True)
    # The edition's language, copied by a database trigger on every write (a generated column can only read
    # its own row), so that the search vector below can use that language's stemming.
    language = models.CharField(max_length=10, editable=False, default="en")
    # Computed by Postgres from the row itself, so no write path (bulk, import, raw SQL) can leave it stale.
    search_vector = models.GeneratedField(
        expression=_language_search_vector(),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    history = HistoricalRecords(excluded_fields=["body_html", "body_text", "language", "search_vector"])
    objects = ProvisionVersionQuerySet.as_manager()

    class Meta:
        ordering = ["edition", "order", "pk"]
        verbose_name = _("provision version")
        verbose_name_plural = _("provision versions")
        constraints = [
            models.UniqueConstraint(fields=["edition", "provision"], name="provision_version_unique_per_edition"),
            models.CheckConstraint(condition=Q(kind__in=ProvisionKind.values), name="provision_version_kind_valid"),
            models.CheckConstraint(
                condition=Q(parent__isnull=True) | ~Q(parent=models.F("provision")),
                name="provision_version_not_own_parent",
            ),
        ]
        indexes = [
            GinIndex(fields=["search_vector"], name="provision_version_search"),
            models.Index(fields=["provision", "edition"], name="provision_version_timeline"),
        ]
        triggers = [
            pgtrigger.Trigger(
                name="provision_version_published_is_immutable",
                operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
                when=pgtrigger.Before,
                func=_PROTECT_PUBLISHED_TEXT,
            ),
            # Generated columns are computed after BEFORE triggers, so the search vector sees this language.
            pgtrigger.Trigger(
                name="provision_version_takes_edition_language",
                operation=pgtrigger.Insert | pgtrigger.Update,
                when=pgtrigger.Before,
                func="NEW.language := (SELECT language FROM guidelines_edition WHERE id = NEW.edition_id); RETURN NEW;",
            ),
        ]

    def __str__(self):
        return self.numbered_heading

    def save(self, *args, **kwargs):
        self.refresh_derived()
        super().save(*args, **kwargs)

    @property
    def display_heading(self):
        return heading_or_lead(self.heading, self.body_text)

    @property
    def numbered_heading(self):
        """What a list, a title or a citation calls this provision: "1002.2(a) Account means an …"."""
        return f"{self.number} {self.display_heading}".strip()

    def refresh_derived(self):
        """Fill the fields derived from the Markdown (also called before bulk_create, which skips save())."""
        self.body_html = render_markdown(self.body)
        self.body_text = html_to_text(self.body_html)
        self.content_hash = content_hash(self.heading, self.body)

    @property
    def anchor(self):
        return f"p-{self.provision.slug}"


# Alert subscriptions and runs, webhook endpoints and deliveries live in their own modules; imported here so
# Django registers them.
from guidelines.models.alerts import AlertRun, AlertSubscription, AlertSubscriptionStatus  # noqa: E402, F401
from guidelines.models.webhooks import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint  # noqa: E402, F401
