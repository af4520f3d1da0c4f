"""What the member directory reads from the users table alone: User.membership_end, a copy of the member's own
membership as its status sees it, kept by the database whichever way a membership or a user is written.

in_directory() compares it with the grace floor instead of joining the memberships: joined, a directory search
for a common name hashed all 250,000 current memberships of a 500,000-member society to keep a few thousand.
"""

import datetime

import pgtrigger

# User.membership_end of a lifetime membership: later than any grace floor.
LIFETIME_END = datetime.date.max

# On the users table. Whatever an UPDATE writes (a stale instance's save() included), membership_end comes
# from the membership, as Membership.current_end comes from the terms: its current_end, LIFETIME_END when
# lifetime, empty when cancelled, pending or missing.
USER_MEMBERSHIP_END_FROM_MEMBERSHIP = pgtrigger.Trigger(
    name="user_membership_end_from_membership",
    when=pgtrigger.Before,
    operation=pgtrigger.Insert | pgtrigger.Update,
    func=f"""
        NEW.membership_end := (
            SELECT CASE WHEN lifetime THEN DATE '{LIFETIME_END.isoformat()}' ELSE current_end END
            FROM members_membership WHERE user_id = NEW.id AND cancelled_at IS NULL
        );
        RETURN NEW;
    """,
)

# On the memberships table: touching the member's row runs the trigger above. OLD is NULL on INSERT, NEW on
# DELETE; a term's trigger updates its membership, so new, voided and extended terms arrive here too.
MEMBERSHIP_TOUCHES_USER = pgtrigger.Trigger(
    name="membership_touches_user",
    when=pgtrigger.After,
    operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
    func="UPDATE members_user SET membership_end = NULL WHERE id IN (OLD.user_id, NEW.user_id); RETURN NULL;",
)
