"""Demo accounts and memberships: a staff login with TOTP, 76 people whose names exercise many scripts and
naming traditions (people.csv), and about 160 members in every status across 75 countries with the
type/band price matrix.

Term ends of the 160 are spread over the previous and next 120 days, so the dashboard, filters and
reminders have something to show. Idempotent: people are matched by email and never created twice.
"""

import csv
import datetime
import functools
import random
from decimal import Decimal
from pathlib import Path

from allauth.account.models import EmailAddress
from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from django_countries import countries

from members.country_bands import band_for
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
from members.validators import orcid_checksum_ok

DEMO_STAFF_EMAIL = "staff@society.example"
DEMO_STAFF_PASSWORD = "demo-staff-password"
DEMO_MEMBER_PASSWORD = "demo-member-password"
PEOPLE_DOMAIN = "demo.society.example"
MEMBERS_DOMAIN = "demo-members.example"

# name, eligibility, purchasable, needs approval, prices high / upper-middle / lower-middle / low
TYPES = [
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
    ("Lifetime", "Anyone who may choose Full membership.", True, False, (4800, 2400, 1200, 400)),
]
LIFETIME_TYPES = {"Lifetime"}
# What each type gives, said once: the join page shows its name, price and term beside this, so a description
# that repeats them ("Full membership for 12 months") says nothing.
DESCRIPTIONS = {
    "Student": "Every member benefit at a reduced rate while you study.",
    "Trainee": "Every member benefit at a reduced rate in the early years of your career.",
    "Full": "A vote in society elections, the member directory and reduced meeting fees.",
    "Industry": "Full membership for scientists working in companies.",
    "Emeritus": "Continued membership in retirement, at a reduced rate.",
    "Honorary": "The society's recognition of an outstanding contribution to the field.",
    "Lifetime": "Full membership for the rest of your career, without renewals.",
}
# Types also sold for 2 and 3 years, at this multiple of the 1-year price (a discount for committing).
MULTI_YEAR = {"Full": {2: Decimal("1.9"), 3: Decimal("2.7")}, "Trainee": {2: Decimal("1.9"), 3: Decimal("2.7")}}
BANDS = [IncomeBand.HIGH, IncomeBand.UPPER_MIDDLE, IncomeBand.LOWER_MIDDLE, IncomeBand.LOW]
MEMBER_COUNTRIES = [
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
FIRST_NAMES = "Ana Ben Chen Dara Eli Fatima Goran Hana Ivan Jia Kwame Lina Mateo Nia Omar Priya Quan Rosa Sven Tariq"
LAST_NAMES = "Okafor Silva Tanaka Müller Haddad Kowalski Nguyen Rossi Mensah Patel Ortiz Larsen Kim Dubois Ali Novak"


@functools.cache
def demo_password_hash() -> str:
    # Hashing once and sharing the hash keeps a first seed of 236 demo logins to seconds, not minutes
    # (PBKDF2 costs about a third of a second per call by design). Demo data only.
    return make_password(DEMO_MEMBER_PASSWORD)


def demo_people() -> list[dict]:
    """Fictional people: full name, country, institution, listed in the directory (yes/no)."""
    with (Path(__file__).resolve().parent / "people.csv").open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def demo_orcid(index: int) -> str:
    """A checksum-valid ORCID iD outside the ranges ORCID issues (0000-0001-5… to 0000-0003-5…, 0009-…)."""
    base = f"000000090000{index:03d}"
    for check in "0123456789X":
        candidate = "-".join((base + check)[i : i + 4] for i in range(0, 16, 4))
        if orcid_checksum_ok(candidate):
            return candidate
    raise AssertionError("unreachable: one check character always fits")


def _demo_user(*, email: str, **fields) -> User:
    """A member who signs in with the demo password and a verified address."""
    user = User.objects.create_user(email=email, password=None, **fields)
    User.objects.filter(pk=user.pk).update(password=demo_password_hash())
    EmailAddress.objects.get_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
    return user


def seed_staff(command):
    staff = User.objects.with_email(DEMO_STAFF_EMAIL).first()
    if staff is None:
        staff = User.objects.create_superuser(
            email=DEMO_STAFF_EMAIL, password=DEMO_STAFF_PASSWORD, full_name="Demo Staff", country="US"
        )
    EmailAddress.objects.update_or_create(user=staff, email=staff.email, defaults={"verified": True, "primary": True})
    # Staff need two-factor authentication for the admin; the demo staff gets a TOTP device whose secret
    # is printed so a developer can add it to an authenticator app (never do this with a real account).
    authenticator = Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).first()
    if authenticator is None:
        secret = generate_totp_secret()
        TOTP.activate(staff, secret)
    else:
        secret = get_mfa_adapter().decrypt(authenticator.data["secret"])
    command.stdout.write(f"Demo staff login: {DEMO_STAFF_EMAIL} / {DEMO_STAFF_PASSWORD}")
    command.stdout.write(f"Demo staff TOTP secret (add to an authenticator app): {secret}")


def seed_people(command):
    membership_type, _created = MembershipType.objects.get_or_create(
        slug="full", defaults={"name": "Full", "term_months": 12}
    )
    today = society_today()
    people = demo_people()
    for index, person in enumerate(people, start=1):
        email = f"member{index:03d}@{PEOPLE_DOMAIN}"
        user = User.objects.with_email(email).first() or _demo_user(
            email=email,
            full_name=person["full name"],
            country=person["country"],
            institution=person["institution"],
            directory_visible=person["listed"] == "yes",
            orcid=demo_orcid(index) if index % 3 else "",
        )
        membership, _created = Membership.objects.get_or_create(user=user)
        if not membership.terms.exists():
            # Staggered end dates, all still current, so the directory has people to show.
            end = today + datetime.timedelta(days=30 + (index * 7) % 330)
            Term.objects.create(
                membership=membership,
                membership_type=membership_type,
                start=end - datetime.timedelta(days=364),
                end=end,
            )
    country_count = len({person["country"] for person in people})
    command.stdout.write(
        f"Demo members: {len(people)} in {country_count} countries "
        f"(password {DEMO_MEMBER_PASSWORD}, e.g. member001@{PEOPLE_DOMAIN})"
    )


def _types() -> dict[str, MembershipType]:
    types = {}
    for position, (name, eligibility, purchasable, approval, prices) in enumerate(TYPES):
        membership_type, _created = MembershipType.objects.get_or_create(
            slug=name.lower(),
            defaults={
                "name": name,
                "eligibility": eligibility,
                "is_purchasable": purchasable,
                "requires_approval": approval,
                "display_order": position,
                "is_lifetime": name in LIFETIME_TYPES,
                "description": DESCRIPTIONS.get(name, ""),
            },
        )
        for band, amount in zip(BANDS, prices, strict=True):
            Price.objects.get_or_create(
                membership_type=membership_type, band=band, years=1, defaults={"amount": Decimal(amount)}
            )
            for years, factor in MULTI_YEAR.get(name, {}).items():
                Price.objects.get_or_create(
                    membership_type=membership_type, band=band, years=years, defaults={"amount": amount * factor}
                )
        types[name] = membership_type
    return types


def _order(membership, membership_type, band, country, *, status, provider, created_at, paid_at=None, note=""):
    amount = Decimal(0) if provider == PaymentProvider.COMP else membership_type.prices.get(band=band, years=1).amount
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


def seed_memberships(command):
    CountryBand.objects.bulk_create(
        [CountryBand(country=code, band=band_for(code)) for code, _name in countries], ignore_conflicts=True
    )
    types = _types()
    purchasable = [types[name] for name in ("Student", "Trainee", "Full", "Full", "Full", "Industry", "Emeritus")]
    first_names, last_names = FIRST_NAMES.split(), LAST_NAMES.split()
    today = society_today()
    rng = random.Random(2026)  # the same demo data on every machine
    created = 0
    for index in range(160):
        email = f"member{index:03d}@{MEMBERS_DOMAIN}"
        if User.objects.with_email(email).exists():
            continue
        country = MEMBER_COUNTRIES[index % len(MEMBER_COUNTRIES)]
        user = _demo_user(
            email=email,
            full_name=f"{first_names[index % len(first_names)]} {last_names[(index * 7) % len(last_names)]}",
            country=country,
            institution=f"Institute of Stem Cell Research, {countries.name(country)}",
        )
        membership = Membership.objects.create(user=user)
        band = CountryBand.objects.get(country=country).band
        honorary = index % 40 == 7
        membership_type = types["Honorary"] if honorary else purchasable[index % len(purchasable)]
        provider = PaymentProvider.COMP if honorary else rng.choice([PaymentProvider.STRIPE, PaymentProvider.INVOICE])

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
        f"Demo memberships: {created} created ({User.objects.filter(email__endswith=MEMBERS_DOMAIN).count()} in "
        f"total); member login e.g. member001@{MEMBERS_DOMAIN} / {DEMO_MEMBER_PASSWORD}"
    )


def seed(command):
    seed_staff(command)
    seed_people(command)
    seed_memberships(command)
