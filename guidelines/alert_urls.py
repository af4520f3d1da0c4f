from django.urls import path

from guidelines.views import alerts

app_name = "alerts"

# Outside the public, cached pages (no language prefix): these pages hold forms, tokens and addresses.
urlpatterns = [
    path("follow/", alerts.follow, name="follow"),
    path("confirm/<str:token>/", alerts.confirm, name="confirm"),
    path("manage/<str:token>/", alerts.manage, name="manage"),
    path("unsubscribe/<str:token>/", alerts.unsubscribe, name="unsubscribe"),
    path("mine/cancel/", alerts.member_cancel, name="member-cancel"),
]
