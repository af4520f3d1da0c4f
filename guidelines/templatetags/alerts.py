from django import template

from guidelines.models import AlertSubscription
from guidelines.selectors import alert_subscriptions_listed

register = template.Library()


@register.simple_tag
def member_alert_subscriptions(user):
    """The member's alerts, for their profile (which only a member with a verified address sees; members render
    it, and guidelines never imports members)."""
    if not user.is_authenticated:
        return []
    return alert_subscriptions_listed(AlertSubscription.objects.of_member(user, user.email).live())
