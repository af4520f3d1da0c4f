from django.urls import path

from members import views, views_accounts

app_name = "members"

urlpatterns = [
    path("", views.MembershipView.as_view(), name="home"),
    path("join/", views.JoinView.as_view(), name="join"),
    path("renew/", views.RenewView.as_view(), name="renew"),
    path("orders/<str:number>/", views.OrderView.as_view(), name="order"),
    path("orders/<str:number>/pay/", views.OrderPayView.as_view(), name="order-pay"),
]

urlpatterns += [
    path("profile/", views_accounts.ProfileView.as_view(), name="profile"),
    path("profile/export/", views_accounts.ProfileExportView.as_view(), name="profile-export"),
    path("profile/delete/", views_accounts.ProfileDeleteView.as_view(), name="profile-delete"),
    path("directory/", views_accounts.DirectoryView.as_view(), name="directory"),
]
