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

__all__ = [
    "CountryBand",
    "IncomeBand",
    "Membership",
    "MembershipStatus",
    "MembershipType",
    "Order",
    "OrderNumberCounter",
    "OrderStatus",
    "PaymentProvider",
    "Price",
    "Term",
    "User",
]
