"""Demo memberships: the type/band price matrix and ~160 members in every status across 75 countries.

Term ends are spread over the previous and next 120 days, so the dashboard, filters and reminders have
something to show. Idempotent: members are matched by email and never created twice.
"""

import datetime
import random
from decimal import Decimal

from allauth.account.models import EmailAddress
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.utils import timezone
from django_countries import countries

from members.country_bands import band_for
from members.demo import demo_password_hash
from members.models import (
    CountryBand,
    IncomeBand,
    Membership,
    MembershipType,
    Order,
    OrderStatus,
    PaymentProvider,
    Price,
    Term,
    User,
)
from members.models.memberships import society_today
from members.services.payments import order_number_next

DEMO_DOMAIN = "demo-members.example"
DEMO_PASSWORD = "demo-member-password"

TYPES = [
    # name, eligibility, purchasable, needs approval, prices high / upper-middle / lower-middle / low
    ("Student", "Enrolled in a degree programme.", True, True, (60, 30, 15, 5)),
    (
        "Trainee",
        "Postdoctoral researchers and clinical trainees, up to 7 years after the doctorate.",
        True,
        False,
        (120, 60, 30, 10),
    ),
    ("Full", "Independent researchers and clinicians.", True, False, (240, 120, 60, 20)),
    ("Industry", "Researchers employed in industry.", True, False, (400, 200, 100, 40)),
    ("Emeritus", "Retired members with at least ten years of membership.", True, False, (80, 40, 20, 5)),
    ("Honorary", "Elected by the board; granted, not bought.", False, False, (0, 0, 0, 0)),
]
BANDS = [IncomeBand.HIGH, IncomeBand.UPPER_MIDDLE, IncomeBand.LOWER_MIDDLE, IncomeBand.LOW]

COUNTRIES = [
    "US",
    "GB",
    "DE",
    "FR",
    "IT",
    "ES",
    "NL",
    "SE",
    "CH",
    "JP",
    "KR",
    "AU",
    "CA",
    "SG",
    "IL",
    "PL",
    "PT",
    "IE",
    "AT",
    "BE",
    "DK",
    "FI",
    "NO",
    "CZ",
    "GR",
    "HU",
    "CL",
    "UY",
    "SA",
    "AE",
    "BR",
    "CN",
    "MX",
    "AR",
    "CO",
    "PE",
    "ZA",
    "TR",
    "TH",
    "MY",
    "ID",
    "RU",
    "IR",
    "KZ",
    "RS",
    "CR",
    "EC",
    "IN",
    "BD",
    "PK",
    "NG",
    "KE",
    "EG",
    "VN",
    "PH",
    "GH",
    "MA",
    "TN",
    "LK",
    "NP",
    "UZ",
    "TZ",
    "CM",
    "SN",
    "BO",
    "UA",
    "ET",
    "UG",
    "RW",
    "MW",
    "MZ",
    "SD",
    "AF",
    "BF",
    "ML",
    "NE",
]

FIRST = [
    "Ana",
    "Ben",
    "Chen",
    "Dara",
    "Eli",
    "Fatima",
    "Goran",
    "Hana",
    "Ivan",
    "Jia",
    "Kwame",
    "Lina",
    "Mateo",
    "Nia",
    "Omar",
    "Priya",
    "Quan",
    "Rosa",
    "Sven",
    "Tariq",
]
LAST = [
    "Okafor",
    "Silva",
    "Tanaka",
    "Müller",
    "Haddad",
    "Kowalski",
    "Nguyen",
    "Rossi",
    "Mensah",
    "Patel",
    "Ortiz",
    "Larsen",
    "Kim",
    "Dubois",
    "Ali",
    "Novak",
]


def _types() -> dict[str, MembershipType]:
    types = {}
    for order, (name, eligibility, purchasable, approval, prices) in enumerate(TYPES):
        membership_type, _created = MembershipType.objects.get_or_create(
            slug=name.lower(),
            defaults={
                "name": name,
                "eligibility": eligibility,
                "is_purchasable": purchasable,
                "requires_approval": approval,
                "display_order": order,
                "description": f"{name} membership for 12 months.",
            },
        )
        for band, amount in zip(BANDS, prices, strict=True):
            Price.objects.get_or_create(
                membership_type=membership_type, band=band, defaults={"amount": Decimal(amount)}
            )
        types[name] = membership_type
    return types


def _order(membership, membership_type, band, country, *, status, provider, created_at, paid_at=None, note=""):
    amount = Decimal(0) if provider == PaymentProvider.COMP else membership_type.prices.get(band=band).amount
    return Order.objects.create(
        number=order_number_next(year=created_at.year),
        membership=membership,
        membership_type=membership_type,
        country=country,
        band=band,
        amount=amount,
        currency=settings.DUES_CURRENCY,
        status=status,
        provider=provider,
        created_at=created_at,
        paid_at=paid_at,
        note=note,
    )


def _paid_term(membership, membership_type, band, country, provider, start, end):
    """A term and the order that paid for it on its first day (a comp for Honorary members)."""
    paid = timezone.make_aware(datetime.datetime.combine(start, datetime.time(10)))
    order = _order(
        membership,
        membership_type,
        band,
        country,
        status=OrderStatus.PAID,
        provider=provider,
        created_at=paid,
        paid_at=paid,
        note="Honorary member" if provider == PaymentProvider.COMP else "",
    )
    Term.objects.create(membership=membership, membership_type=membership_type, start=start, end=end, order=order)


def seed(command):
    CountryBand.objects.bulk_create(
        [CountryBand(country=code, band=band_for(code)) for code, _name in countries], ignore_conflicts=True
    )
    types = _types()
    purchasable = [types[name] for name in ("Student", "Trainee", "Full", "Full", "Full", "Industry", "Emeritus")]
    today = society_today()
    rng = random.Random(2026)  # the same demo data on every machine
    created = 0
    for index in range(160):
        email = f"member{index:03d}@{DEMO_DOMAIN}"
        if User.objects.with_email(email).exists():
            continue
        country = COUNTRIES[index % len(COUNTRIES)]
        user = User.objects.create_user(
            email=email,
            password=None,
            full_name=f"{FIRST[index % len(FIRST)]} {LAST[(index * 7) % len(LAST)]}",
            country=country,
            institution=f"Institute of Stem Cell Research, {countries.name(country)}",
        )
        User.objects.filter(pk=user.pk).update(password=demo_password_hash())
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        membership = Membership.objects.create(user=user)
        band = CountryBand.objects.get(country=country).band
        membership_type = types["Honorary"] if index % 40 == 7 else purchasable[index % len(purchasable)]
        provider = (
            PaymentProvider.COMP if index % 40 == 7 else rng.choice([PaymentProvider.STRIPE, PaymentProvider.INVOICE])
        )

        if index % 20 == 3:  # pending: applied by invoice, not paid yet
            _order(
                membership,
                membership_type,
                band,
                country,
                status=OrderStatus.PENDING,
                provider=PaymentProvider.INVOICE,
                created_at=timezone.now() - datetime.timedelta(days=rng.randint(1, 20)),
            )
            created += 1
            continue

        # Ends spread evenly over the previous and next 120 days: lapsed, grace, expiring and active.
        end = today + datetime.timedelta(days=(index * 240) // 160 - 120)
        start = end - relativedelta(months=12) + datetime.timedelta(days=1)
        if index % 3 == 0:  # a renewing member: an earlier term right before this one
            earlier_end = start - datetime.timedelta(days=1)
            earlier_start = earlier_end - relativedelta(months=12) + datetime.timedelta(days=1)
            _paid_term(membership, membership_type, band, country, provider, earlier_start, earlier_end)
        _paid_term(membership, membership_type, band, country, provider, start, end)
        if index % 25 == 11:
            membership.cancelled_at = timezone.now()
            membership.cancel_reason = "Demo: requested by the member"
            membership.save(update_fields=["cancelled_at", "cancel_reason"])
        created += 1
    command.stdout.write(
        f"Demo memberships: {created} created ({User.objects.filter(email__endswith=DEMO_DOMAIN).count()} in total); "
        f"member login e.g. member001@{DEMO_DOMAIN} / {DEMO_PASSWORD}"
    )
