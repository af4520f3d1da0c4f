from .accounts import User
from .announcements import Announcement, AnnouncementStatus
from .autorenew import AutoRenew, AutoRenewSettings, ChargeStatus, RenewalCharge, RenewalNotice
from .imports import ImportStatus, MemberImport
from .memberships import (
    CountryBand,
    IncomeBand,
    Membership,
    MembershipSource,
    MembershipStatus,
    MembershipType,
    Price,
    Term,
)
from .payments import (
    CreditNoteCounter,
    Order,
    OrderNumberCounter,
    OrderStatus,
    Payment,
    PaymentMethod,
    PaymentProvider,
    PaymentReview,
    Refund,
    StripeEvent,
)
from .reminders import ReminderDelivery, ReminderRule, ReminderRuleTranslation
from .renew_links import RenewLink
from .retention import CohortCount, DuesCount, RenewalCount, TermFact

__all__ = [
    "Announcement",
    "AnnouncementStatus",
    "AutoRenew",
    "AutoRenewSettings",
    "ChargeStatus",
    "RenewalCharge",
    "RenewalNotice",
    "CohortCount",
    "CountryBand",
    "CreditNoteCounter",
    "DuesCount",
    "ImportStatus",
    "IncomeBand",
    "MemberImport",
    "Membership",
    "MembershipSource",
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
    "Refund",
    "ReminderDelivery",
    "ReminderRule",
    "ReminderRuleTranslation",
    "RenewLink",
    "RenewalCount",
    "StripeEvent",
    "Term",
    "TermFact",
    "User",
]
