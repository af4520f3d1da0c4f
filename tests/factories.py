import datetime
from decimal import Decimal

import factory
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from members.country_bands import band_for
from members.models import (
    CountryBand,
    IncomeBand,
    Membership,
    MembershipType,
    Order,
    PaymentProvider,
    Price,
    Term,
    User,
)

DEFAULT_PASSWORD = "correct horse battery staple"
FACTORY_COUNTRIES = ["DE", "BR", "JP", "KE", "IN", "US", "VN", "GR", "EG", "AR"]


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"member{n}@example.org")
    full_name = factory.Faker("name")
    country = factory.Iterator(FACTORY_COUNTRIES)
    institution = factory.Faker("company")

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or DEFAULT_PASSWORD)
        if create:
            obj.save(update_fields=["password"])

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        # Members have a verified primary address unless a test says otherwise (verified=False).
        if create and extracted is not False:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)


class StaffFactory(UserFactory):
    email = factory.Sequence(lambda n: f"staff{n}@society.example")
    is_staff = True

    @factory.post_generation
    def mfa(obj, create, extracted, **kwargs):
        # Staff must have two-factor authentication to open the admin; a test about its absence says mfa=False.
        if create and extracted is not False:
            TOTP.activate(obj, generate_totp_secret())


class MembershipTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MembershipType
        django_get_or_create = ["slug"]

    name = "Full"
    slug = factory.LazyAttribute(lambda o: o.name.lower())
    term_months = 12


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)


class TermFactory(factory.django.DjangoModelFactory):
    """A term without an order (as imported or granted); `end` is inclusive."""

    class Meta:
        model = Term

    membership = factory.SubFactory(MembershipFactory)
    membership_type = factory.SubFactory(MembershipTypeFactory)
    start = factory.LazyAttribute(lambda o: o.end - datetime.timedelta(days=364))
    end = factory.LazyFunction(lambda: datetime.date.today() + datetime.timedelta(days=200))


class CountryBandFactory(factory.django.DjangoModelFactory):
    """Tests create the bands they need: data-migration rows are flushed after transactional tests, so whether a
    country's row exists depends on the order tests run in. The band asked for always holds (update_or_create):
    Kenya's seeded "lower_middle" must not survive a test that says "low"."""

    class Meta:
        model = CountryBand

    country = "DE"
    band = IncomeBand.HIGH

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        country = kwargs.pop("country")
        return model_class._default_manager.update_or_create(country=country, defaults=kwargs)[0]


class PriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Price
        django_get_or_create = ["membership_type", "band", "years"]

    membership_type = factory.SubFactory(MembershipTypeFactory)
    band = IncomeBand.HIGH
    years = 1
    amount = Decimal("200.00")


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"2099-{n:06d}")
    membership = factory.SubFactory(MembershipFactory)
    membership_type = factory.SubFactory(MembershipTypeFactory)
    country = "DE"
    band = IncomeBand.HIGH
    amount = Decimal("200.00")
    currency = "USD"
    provider = PaymentProvider.INVOICE


PRICES = {
    IncomeBand.HIGH: Decimal("200.00"),
    IncomeBand.UPPER_MIDDLE: Decimal("100.00"),
    IncomeBand.LOWER_MIDDLE: Decimal("50.00"),
    IncomeBand.LOW: Decimal("20.00"),
}
BANDS = {"DE": IncomeBand.HIGH, "BR": IncomeBand.UPPER_MIDDLE, "IN": IncomeBand.LOWER_MIDDLE, "UG": IncomeBand.LOW}


def price_matrix(*names: str) -> dict[str, MembershipType]:
    """Types with a price in every band, and bands for DE, BR, IN and UG (the countries tests use)."""
    for country in {*BANDS, *FACTORY_COUNTRIES}:
        CountryBandFactory(country=country, band=band_for(country))
    types = {}
    for order, name in enumerate(names or ("Full",)):
        membership_type = MembershipTypeFactory(name=name, display_order=order)
        for band, amount in PRICES.items():
            PriceFactory(membership_type=membership_type, band=band, amount=amount)
        types[name] = membership_type
    return types


def default_reminder_rules():
    """The default schedule with its translations, as data migrations 0002 and 0007 create it (transactional
    tests flush migration rows, so tests create it themselves)."""
    from members.models import ReminderRule, ReminderRuleTranslation
    from members.reminder_defaults import DEFAULT_RULES, DEFAULT_TRANSLATIONS

    rules = [ReminderRule.objects.get_or_create(offset_days=r["offset_days"], defaults=r)[0] for r in DEFAULT_RULES]
    for rule in rules:
        for fields in DEFAULT_TRANSLATIONS[rule.offset_days]:
            ReminderRuleTranslation.objects.get_or_create(rule=rule, language=fields["language"], defaults=fields)
    return rules
