from django.urls import path

from society import feeds, views

app_name = "news"

urlpatterns = [
    path("", views.NewsListView.as_view(), name="list"),
    path("feed/rss/", feeds.NewsRssFeed(), name="feed-rss"),
    path("feed/atom/", feeds.NewsAtomFeed(), name="feed-atom"),
    path("preview/<int:pk>/", views.NewsPreviewView.as_view(), name="preview"),
    path("<slug:slug>/", views.NewsDetailView.as_view(), name="detail"),
]
