from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path

from members.views.accounts import language_switch
from members.views.payments import stripe_webhook
from society import views
from society.access import has_staff_powers
from society.sitemaps import sitemaps

# Staff sign in through allauth like everyone (rate limits, MFA), never through the admin's own form;
# a signed-in non-staff account gets the 403 page.
admin.site.login = secure_admin_login(admin.site.login)
# The admin asks the same question as every other staff check: staff who passed MFA in this session.
admin.site.has_permission = has_staff_powers

urlpatterns = [
    path("healthz/", views.healthz, name="healthz"),
    path("robots.txt", views.robots_txt, name="robots"),
    # An index of one sitemap per section, each paginated (?p=2…), so every URL stays reachable when a
    # section outgrows the 5,000 a single sitemap page lists.
    path("sitemap.xml", views.sitemap_index, name="sitemap-index"),
    path("sitemap-<section>.xml", sitemap_views.sitemap, {"sitemaps": sitemaps}, name="sitemap-section"),
    path("accounts/", include("allauth.urls")),
    path("membership/", include("members.urls")),
    path("payments/stripe/webhook/", stripe_webhook, name="stripe-webhook"),
    path("alerts/", include("guidelines.alert_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("i18n/switch/<str:code>/", language_switch, name="language-switch"),
    path("admin/", admin.site.urls),
]

# Public pages in every language: /es/guidelines/…, English unprefixed so existing links keep working.
# Member, account and admin URLs above have no prefix (society.middleware picks their language).
urlpatterns += i18n_patterns(
    path("", views.HomeView.as_view(), name="home"),
    path("about/", views.AboutView.as_view(), name="about"),
    path("pages/<slug:slug>/", views.PageDetailView.as_view(), name="page"),
    path("news/", include("society.news_urls")),
    path("guidelines/", include("guidelines.urls")),
    prefix_default_language=False,
)

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

admin.site.site_header = settings.SOCIETY_NAME
admin.site.site_title = settings.SOCIETY_SHORT_NAME
