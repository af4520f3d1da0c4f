from django.conf import settings
from django.contrib.sitemaps.views import SitemapIndexItem, x_robots_tag
from django.db.models import Prefetch
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic import DetailView, ListView, TemplateView

from guidelines.models import Edition
from members.selectors.access import request_member_access
from society.access import staff_required
from society.health import run_checks
from society.models import NewsArticle, Page, Topic
from society.selectors import call_to_action_for, current_guideline_editions, featured_edition, society_figures
from society.sitemaps import sitemaps

HOME_NEWS_COUNT = 3
NEWS_PER_PAGE = 10


class HomeView(TemplateView):
    template_name = "society/home.html"

    def get_context_data(self, **kwargs):
        editions = current_guideline_editions()
        return super().get_context_data(
            figures=society_figures(),
            latest_news=NewsArticle.objects.published().public().order_by("-publish_at", "-pk")[:HOME_NEWS_COUNT],
            guideline_editions=editions,
            featured_edition=featured_edition(editions),
            call_to_action=call_to_action_for(self.request.user),
            **kwargs,
        )


class AboutView(TemplateView):
    """The About page staff edit (a Page with slug "about"); the built-in text until they have written one."""

    template_name = "society/about.html"

    def get_context_data(self, **kwargs):
        # The same live figures as the home page, so the two never disagree.
        return super().get_context_data(figures=society_figures(), **kwargs)

    def get(self, request, *args, **kwargs):
        page = Page.objects.filter(slug=Page.ABOUT_SLUG).first()
        if page is not None:
            return TemplateResponse(request, PageDetailView.template_name, {"page": page})
        return super().get(request, *args, **kwargs)


class PageDetailView(DetailView):
    model = Page
    template_name = "society/page_detail.html"
    context_object_name = "page"

    def get(self, request, *args, **kwargs):
        if kwargs.get("slug") == Page.ABOUT_SLUG:
            return redirect("about", permanent=True)  # one address per page
        return super().get(request, *args, **kwargs)


class NewsListView(ListView):
    template_name = "society/news_list.html"
    context_object_name = "articles"
    paginate_by = NEWS_PER_PAGE

    def get_topic(self):
        slug = self.request.GET.get("topic")
        return get_object_or_404(Topic, slug=slug) if slug else None

    def get_queryset(self):
        self.topic = self.get_topic()
        articles = NewsArticle.objects.published().newest_first().prefetch_related("topics")
        if self.topic:
            articles = articles.filter(topics=self.topic)
        return articles

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            topic=self.topic,
            topics=Topic.objects.filter(articles__in=NewsArticle.objects.published()).distinct(),
            **kwargs,
        )


class NewsDetailView(DetailView):
    template_name = "society/news_detail.html"
    context_object_name = "article"
    preview = False

    def get_queryset(self):
        return (
            NewsArticle.objects.published()
            .select_related("author")
            .prefetch_related("topics", Prefetch("related_editions", Edition.objects.select_related("guideline")))
        )

    def get_context_data(self, **kwargs):
        article = self.object
        return super().get_context_data(
            can_read=not article.members_only or request_member_access(self.request),
            preview=self.preview,
            **kwargs,
        )


@method_decorator(never_cache, name="dispatch")
@method_decorator(staff_required(perm="society.view_newsarticle"), name="dispatch")
class NewsPreviewView(NewsDetailView):
    """Any article, draft or scheduled, in the public layout, for editors checking it before it goes live."""

    preview = True

    def get_queryset(self):
        return NewsArticle.objects.select_related("author").prefetch_related("topics")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_read"] = True
        return context


@never_cache
@require_GET
def healthz(request):
    report = run_checks()
    healthy = not any(value.startswith("down") for value in report.values())
    return JsonResponse(report, status=200 if healthy else 503)


@require_GET
def robots_txt(request):
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /accounts/",
        "Disallow: /membership/",
        "Disallow: /news/preview/",
        f"Sitemap: {request.build_absolute_uri(reverse('sitemap-index'))}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


@require_GET
@x_robots_tag
def sitemap_index(request):
    """The sitemap index: one entry per section sitemap page (?p=2…), so every URL is reachable however many
    there are. Locations are under SITE_URL like the sections' own, whatever host the crawler asked; Django's
    index view would use the sites framework's domain instead."""
    items = []
    for section, sitemap_class in sitemaps.items():
        sitemap = sitemap_class()
        location = settings.SITE_URL + reverse("sitemap-section", kwargs={"section": section})
        lastmod = sitemap.get_latest_lastmod()
        items.append(SitemapIndexItem(location, lastmod))
        items.extend(SitemapIndexItem(f"{location}?p={page}", lastmod) for page in range(2, sitemap.index_pages() + 1))
    return TemplateResponse(request, "sitemap_index.xml", {"sitemaps": items}, content_type="application/xml")
