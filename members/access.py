"""Who may see member-only pages. One place, used by the directory, members-only news and the home page."""

from members.models import Membership, MembershipStatus
from members.models.memberships import ACCESS_STATUSES, society_today


def membership_status_for_user(user) -> MembershipStatus | None:
    """The user's derived membership status, or None for a visitor or an account with no membership."""
    if not getattr(user, "is_authenticated", False):
        return None
    membership = Membership.objects.with_status(society_today()).filter(user=user).first()
    return MembershipStatus(membership.status) if membership else None


def has_member_access(user) -> bool:
    """Active, expiring and grace members see member-only pages; pending, lapsed and cancelled do not."""
    return membership_status_for_user(user) in ACCESS_STATUSES
