"""Who may see member-only pages, asked once per request and answered from the signed-in user's own row."""

import datetime

from django.conf import settings

from members.models.memberships import society_today

_UNKNOWN = object()


def user_has_access(user, today: datetime.date | None = None) -> bool:
    """has_member_access() without a query: User.membership_end is the membership's end as its status sees it
    (kept by the database, members/models/directory.py), so active, expiring and grace are exactly "ends no
    earlier than the grace floor"."""
    if not getattr(user, "is_authenticated", False) or user.membership_end is None:
        return False
    grace_floor = (today or society_today()) - datetime.timedelta(days=settings.GRACE_DAYS)
    return user.membership_end >= grace_floor


def request_member_access(request) -> bool:
    """Whether the signed-in visitor may open member-only pages, once per request: the header's Directory link,
    the directory's own door and a members-only article each ask."""
    found = getattr(request, "_member_access", _UNKNOWN)
    if found is _UNKNOWN:
        found = request._member_access = user_has_access(request.user)
    return found
