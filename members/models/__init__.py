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

__all__ = [
    "CountryBand",
    "IncomeBand",
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
    "Term",
    "User",
]
