from .accounts import User
from .memberships import (
    CountryBand,
    IncomeBand,
    Membership,
    MembershipStatus,
    MembershipType,
    Order,
    OrderNumberCounter,
    OrderStatus,
    PaymentProvider,
    Price,
    Term,
)
from .outbox import OutgoingEmail, OutgoingEmailStatus
from .reminders import JobHeartbeat, ReminderDelivery, ReminderRule

__all__ = [
    "CountryBand",
    "IncomeBand",
    "JobHeartbeat",
    "Membership",
    "MembershipStatus",
    "MembershipType",
    "Order",
    "OrderNumberCounter",
    "OrderStatus",
    "OutgoingEmail",
    "OutgoingEmailStatus",
    "PaymentProvider",
    "Price",
    "ReminderDelivery",
    "ReminderRule",
    "Term",
    "User",
]
