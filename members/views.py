from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView


class MembershipView(LoginRequiredMixin, TemplateView):
    template_name = "members/membership.html"
