"""Who may see member-only pages, asked once per request."""

from members.models import MembershipStatus
from members.models.memberships import ACCESS_STATUSES
from members.selectors import has_member_access

_UNKNOWN = object()


def request_member_access(request) -> bool:
    """has_member_access(request.user), asked once per request: the header's Directory link, the directory's
    own door and a members-only article each ask, and each asking was a query."""
    found = getattr(request, "_member_access", _UNKNOWN)
    if found is _UNKNOWN:
        found = request._member_access = has_member_access(request.user)
    return found


def remember_membership_status(request, status: MembershipStatus | None) -> None:
    """A view that has just read the member's membership tells the rest of the request its status."""
    request._member_access = status in ACCESS_STATUSES
