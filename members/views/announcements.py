from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from members.services import announcements as announcement_service


# The signed token is the whole authority here: mail providers POST the RFC 8058 one-click request with no
# session and no CSRF token, and a forged request without the token changes nothing.
@method_decorator([csrf_exempt, never_cache], name="dispatch")
class AnnouncementsUnsubscribeView(View):
    """The List-Unsubscribe URL of every announcement: a page to see and change the choice (GET, then a
    POST with `choice`), and the one-click unsubscribe (POST with List-Unsubscribe=One-Click)."""

    template_name = "members/announcements/unsubscribe.html"

    def get(self, request, token):
        user = announcement_service.unsubscribe_user(token=token)
        if user is None:
            return render(request, self.template_name, {"valid": False}, status=400)
        return render(request, self.template_name, {"valid": True, "wanted": user.wants_announcements})

    def post(self, request, token):
        user = announcement_service.unsubscribe_user(token=token)
        if user is None:
            return render(request, self.template_name, {"valid": False}, status=400)
        choice = request.POST.get("choice")
        if request.POST.get("List-Unsubscribe") == "One-Click" or choice == "off":
            announcement_service.member_announcements_set(user=user, wanted=False)
        elif choice == "on":
            announcement_service.member_announcements_set(user=user, wanted=True)
        else:
            return render(request, self.template_name, {"valid": True, "wanted": user.wants_announcements}, status=400)
        return render(request, self.template_name, {"valid": True, "wanted": user.wants_announcements})
