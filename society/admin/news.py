from django.contrib import admin, messages
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from society.admin.base import FilesStoredFirstForm, HistoryAdmin
from society.models import ArticleStatus, NewsArticle, Topic
from society.services.news import article_publish, article_unpublish


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


class LiveFilter(admin.SimpleListFilter):
    title = _("visibility")
    parameter_name = "live"

    def lookups(self, request, model_admin):
        return [("live", _("Live now")), ("scheduled", _("Scheduled")), ("draft", _("Draft"))]

    def queryset(self, request, queryset):
        if self.value() == "live":
            return queryset.published()
        if self.value() == "scheduled":
            return queryset.scheduled()
        if self.value() == "draft":
            return queryset.filter(status=ArticleStatus.DRAFT)
        return queryset


@admin.register(NewsArticle)
class NewsArticleAdmin(HistoryAdmin):
    form = FilesStoredFirstForm
    list_display = ["title", "status", "visibility", "publish_at", "audience", "pinned", "topic_names", "updated_at"]
    list_filter = [LiveFilter, "status", "audience", "pinned", "topics"]
    list_select_related = ["author"]
    search_fields = ["title", "summary", "slug"]
    date_hierarchy = "publish_at"
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["topics"]
    autocomplete_fields = ["related_editions"]
    readonly_fields = ["preview_link", "created_at", "updated_at"]
    actions = ["publish_selected", "unpublish_selected"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "summary", "body", "preview_link"]}),
        (
            _("Publication"),
            {"fields": ["status", "publish_at", "audience", "pinned", "topics", "related_editions", "author"]},
        ),
        (_("Image"), {"fields": ["image", "image_alt"]}),
        (_("Record"), {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("topics")

    def get_changeform_initial_data(self, request):
        return {"publish_at": timezone.now(), "author": request.user.pk, **super().get_changeform_initial_data(request)}

    @admin.display(description=_("topics"))
    def topic_names(self, article):
        return ", ".join(topic.name for topic in article.topics.all())

    @admin.display(description=_("visibility"), ordering="publish_at")
    def visibility(self, article):
        now = timezone.now()
        if article.is_scheduled(now):
            return format_html(
                '<span title="{}">{}</span>',
                article.publish_at,
                _("goes live %(when)s") % {"when": naturaltime(article.publish_at)},
            )
        if article.is_live(now):
            return _("live")
        return _("not public")

    @admin.display(description=_("preview"))
    def preview_link(self, article):
        if not article.pk:
            return _("Save the article to preview it.")
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            reverse("news:preview", kwargs={"pk": article.pk}),
            _("Preview in the site's layout"),
        )

    @admin.action(description=_("Publish selected articles (now, or at their scheduled time)"), permissions=["change"])
    def publish_selected(self, request, queryset):
        for article in queryset:
            article_publish(article=article)
        count = queryset.count()
        self.message_user(
            request,
            ngettext("%(count)d article published.", "%(count)d articles published.", count) % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Unpublish selected articles (back to draft)"), permissions=["change"])
    def unpublish_selected(self, request, queryset):
        for article in queryset:
            article_unpublish(article=article)
        count = queryset.count()
        self.message_user(
            request,
            ngettext("%(count)d article unpublished.", "%(count)d articles unpublished.", count) % {"count": count},
            messages.SUCCESS,
        )
