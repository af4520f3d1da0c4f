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
from .payments import ImportStatus, MemberImport, StripeEvent
from .reminders import JobHeartbeat, ReminderDelivery, ReminderRule

__all__ = [
    "CountryBand",
    "ImportStatus",
    "IncomeBand",
    "MemberImport",
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
    "StripeEvent",
    "ReminderDelivery",
    "ReminderRule",
    "Term",
    "User",
]
