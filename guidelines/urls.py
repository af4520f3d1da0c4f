from django.urls import path

from guidelines import views

app_name = "guidelines"

urlpatterns = [
    path("", views.GuidelineListView.as_view(), name="list"),
]
