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
from .payments import ImportStatus, MemberImport, StripeEvent

__all__ = [
    "CountryBand",
    "ImportStatus",
    "IncomeBand",
    "MemberImport",
    "Membership",
    "MembershipStatus",
    "MembershipType",
    "Order",
    "OrderNumberCounter",
    "OrderStatus",
    "PaymentProvider",
    "Price",
    "StripeEvent",
    "Term",
    "User",
]
