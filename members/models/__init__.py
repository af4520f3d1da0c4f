from .accounts import User
from .imports import ImportStatus, MemberImport
from .memberships import CountryBand, IncomeBand, Membership, MembershipStatus, MembershipType, Price, Term
from .payments import (
    Order,
    OrderNumberCounter,
    OrderStatus,
    Payment,
    PaymentMethod,
    PaymentProvider,
    PaymentReview,
    StripeEvent,
)
from .reminders import ReminderDelivery, ReminderRule
from .renew_links import RenewLink

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
    "Payment",
    "PaymentMethod",
    "PaymentProvider",
    "PaymentReview",
    "Price",
    "ReminderDelivery",
    "ReminderRule",
    "RenewLink",
    "StripeEvent",
    "Term",
    "User",
]
