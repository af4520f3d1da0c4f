from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView

from society.health import run_checks


class HomeView(TemplateView):
    template_name = "society/home.html"


class AboutView(TemplateView):
    template_name = "society/about.html"


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
        f"Sitemap: {request.build_absolute_uri('/sitemap.xml')}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
