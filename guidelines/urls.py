from django.urls import path

from guidelines import feeds, views

app_name = "guidelines"

# Fixed words ("search", "feed", "compare", "current", "history") come before the slugs they would
# otherwise match; database constraints keep guidelines and editions from taking these words as slugs.
urlpatterns = [
    path("", views.GuidelineListView.as_view(), name="list"),
    path("search/", views.search, name="search"),
    path("feed/", feeds.EditionFeed(), name="feed"),
    path("<slug:guideline>/", views.edition_detail, name="guideline"),
    # Atom feeds of changes only; "feed" is a reserved slug, so no edition can take this place.
    path("<slug:guideline>/feed/", feeds.GuidelineChangesFeed(), name="changes-feed"),
    path("<slug:guideline>/feed/<slug:provision>/", feeds.ProvisionChangesFeed(), name="provision-feed"),
    path("<slug:guideline>/compare/", views.compare_choose, name="compare-choose"),
    path("<slug:guideline>/compare/<slug:old>/<slug:new>/", views.compare, name="compare"),
    path(
        "<slug:guideline>/compare/<slug:old>/<slug:new>/<slug:provision>/",
        views.compare,
        name="compare-provision",
    ),
    path("<slug:guideline>/current/<slug:provision>/", views.provision_current, name="provision-current"),
    path("<slug:guideline>/history/<slug:provision>/", views.provision_history, name="provision-history"),
    path("<slug:guideline>/<slug:edition>.json", views.edition_json, name="edition-json"),
    path("<slug:guideline>/<slug:edition>/", views.edition_detail, name="edition"),
    path("<slug:guideline>/<slug:edition>/changes/", views.what_changed, name="what-changed"),
    path("<slug:guideline>/<slug:edition>/preview/", views.edition_preview, name="preview"),
    path("<slug:guideline>/<slug:edition>/<slug:provision>/", views.provision_detail, name="provision"),
]
