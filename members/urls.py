from django.urls import path

from members import views

app_name = "members"

urlpatterns = [
    path("", views.MembershipView.as_view(), name="home"),
]
