from django.urls import path

from members import views

app_name = "members"

urlpatterns = [
    path("", views.MembershipView.as_view(), name="home"),
    path("join/", views.JoinView.as_view(), name="join"),
    path("renew/", views.RenewView.as_view(), name="renew"),
    path("orders/<str:number>/", views.OrderView.as_view(), name="order"),
    path("orders/<str:number>/pay/", views.OrderPayView.as_view(), name="order-pay"),
]
