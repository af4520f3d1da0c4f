import datetime

import factory
from allauth.account.models import EmailAddress

from members.models import Membership, MembershipType, Term, User

DEFAULT_PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"member{n}@example.org")
    full_name = factory.Faker("name")
    country = factory.Iterator(["DE", "BR", "JP", "KE", "IN", "US", "VN", "GR", "EG", "AR"])
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
