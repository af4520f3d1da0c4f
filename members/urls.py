from django.urls import path

from members.views import accounts, announcements, autorenew, memberships, payments, renew_links

app_name = "members"

urlpatterns = [
    path("", memberships.MembershipView.as_view(), name="home"),
    path("join/", memberships.JoinView.as_view(), name="join"),
    path("renew/", memberships.RenewView.as_view(), name="renew"),
    path("auto-renew/", autorenew.AutoRenewToggleView.as_view(), name="autorenew"),
    path("auto-renew/card/", autorenew.AutoRenewCardView.as_view(), name="autorenew-card"),
    path("auto-renew/off/<str:token>/", autorenew.AutoRenewOffView.as_view(), name="autorenew-off"),
    path("renew/link/", renew_links.RenewLinkRequestView.as_view(), name="renew-link-request"),
    path("renew/link/<str:token>/", renew_links.RenewLinkView.as_view(), name="renew-link"),
    path("orders/<str:number>/", payments.OrderView.as_view(), name="order"),
    path("orders/<str:number>/pay/", payments.OrderPayView.as_view(), name="order-pay"),
    path("orders/<str:number>/pdf/", payments.OrderPdfView.as_view(), name="order-pdf"),
    path("credit-notes/<str:number>/", payments.CreditNoteView.as_view(), name="credit-note"),
    path("credit-notes/<str:number>/pdf/", payments.CreditNotePdfView.as_view(), name="credit-note-pdf"),
    path("profile/", accounts.ProfileView.as_view(), name="profile"),
    path("profile/export/", accounts.ProfileExportView.as_view(), name="profile-export"),
    path("profile/delete/", accounts.ProfileDeleteView.as_view(), name="profile-delete"),
    path("directory/", accounts.DirectoryView.as_view(), name="directory"),
    path(
        "announcements/unsubscribe/<str:token>/",
        announcements.AnnouncementsUnsubscribeView.as_view(),
        name="announcements-unsubscribe",
    ),
]
