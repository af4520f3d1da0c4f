from django.urls import path

from members import views, views_accounts

app_name = "members"

urlpatterns = [
    path("", views.MembershipView.as_view(), name="home"),
]

urlpatterns += [
    path("profile/", views_accounts.ProfileView.as_view(), name="profile"),
    path("profile/export/", views_accounts.ProfileExportView.as_view(), name="profile-export"),
    path("profile/delete/", views_accounts.ProfileDeleteView.as_view(), name="profile-delete"),
    path("directory/", views_accounts.DirectoryView.as_view(), name="directory"),
]
