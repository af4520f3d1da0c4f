import datetime
import re

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Collate, Lower, Upper
from django.utils import timezone
from django.utils.text import smart_split, unescape_string_literal
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from members.validators import validate_orcid
from society.i18n import icu_collation

from .directory import USER_MEMBERSHIP_END_FROM_MEMBERSHIP
from .memberships import society_today


class ImmutableUnaccent(models.Func):
    """society_unaccent(text): unaccent() declared IMMUTABLE (members 0001_initial), so it can back an index."""

    function = "society_unaccent"
    output_field = models.TextField()


def search_key(expression):
    """The accent- and case-free form names and institutions are searched by ("Nguyễn" -> "nguyen")."""
    return ImmutableUnaccent(Lower(expression))


def search_words(text: str) -> list[str]:
    """The words of a staff search, split as Django's admin splits them ("quoted phrases" stay one word)."""
    words = []
    for bit in smart_split(text or ""):
        if bit[:1] in {'"', "'"} and len(bit) > 1 and bit[-1] == bit[0]:
            bit = unescape_string_literal(bit)
        if bit:
            words.append(bit)
    return words


# How a staff search reads each field: the very expression its trigram index is built on (Meta.indexes), so
# a "contains" over 500,000 rows is an index lookup, not a scan. Names ignore case and accents, like the
# directory; email addresses and ORCID iDs ignore case (icontains is UPPER(column) LIKE UPPER('%…%')).
# `prefix` is the path from the model searched to the user ("membership__user__" from an order).
STAFF_SEARCH_KEYS = {
    "full_name": lambda word, prefix: models.Q(search_full_name_key__contains=search_key(models.Value(word))),
    "preferred_name": lambda word, prefix: models.Q(search_preferred_name_key__contains=search_key(models.Value(word))),
    "institution": lambda word, prefix: models.Q(search_institution_key__contains=search_key(models.Value(word))),
    "email": lambda word, prefix: models.Q(**{f"{prefix}email__icontains": word}),
    "orcid": lambda word, prefix: models.Q(**{f"{prefix}orcid__icontains": word}),
}
# A word that is a whole email address: staff pasted a member's address.
WHOLE_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def staff_search(words, fields, prefix: str = "") -> tuple[dict, models.Q]:
    """The aliases and the condition for "every word in one of `fields`" of the user at `prefix`.

    A whole email address is looked up exactly through the unique index on lower(email): one probe, where
    its trigrams (".ex", "ple", "com"…) are in nearly every row and would make the trigram lookup read them
    all. Any other word is a "contains" through the trigram indexes."""
    if not words:
        return {}, models.Q()  # no alias either: an unused one still joins the user's table
    aliases = {
        f"search_{name}_key": search_key(f"{prefix}{name}")
        for name in fields
        if name in {"full_name", "preferred_name", "institution"}
    }
    condition = models.Q()
    for word in words:
        if "email" in fields and WHOLE_EMAIL.match(word):
            aliases["search_email_lower"] = Lower(f"{prefix}email")
            condition &= models.Q(search_email_lower=word.lower())
            continue
        either = models.Q()
        for name in fields:
            either |= STAFF_SEARCH_KEYS[name](word, prefix)
        condition &= either
    return aliases, condition


# What in_directory() asks of the user row besides its membership: the condition of the directory's indexes.
LISTED = models.Q(directory_visible=True, is_active=True, erased_at__isnull=True)


class UserQuerySet(models.QuerySet):
    def with_email(self, email: str):
        return self.filter(email__iexact=email.strip())

    def in_directory(self, today=None):
        """Members who opted in and whose own membership currently gives access (active, expiring, grace):
        Membership.objects.with_access() read from the copy on the user row, so the directory reads one table.
        Joined to the memberships, a search for a common name hashed all 250,000 current memberships (~100 ms
        at 500,000 members) to keep 3,000 of them."""
        grace_floor = (today or society_today()) - datetime.timedelta(days=settings.GRACE_DAYS)
        return self.filter(LISTED, membership_end__gte=grace_floor)

    def matching(self, query: str):
        """Name or institution contains `query`, ignoring case and accents (uses the trigram indexes)."""
        query = (query or "").strip()
        if not query:
            return self
        needle = search_key(models.Value(query))
        # alias(), not annotate(): the keys are only compared, and selecting them unaccented every match again.
        return self.alias(name_key=search_key("full_name"), institution_key=search_key("institution")).filter(
            models.Q(name_key__contains=needle) | models.Q(institution_key__contains=needle)
        )

    def matching_word(self, word: str, fields):
        """Users with `word` in any of `fields` (keys of STAFF_SEARCH_KEYS), through their indexes."""
        return self.matching_every_word([word], fields)

    def matching_every_word(self, words, fields):
        """Users with each of `words` in one of `fields`, in one query on the users' table: Postgres combines
        the words' index lookups (BitmapAnd) and reads only the rows that match them all."""
        aliases, condition = staff_search(words, fields)
        return self.alias(**aliases).filter(condition)

    def searched_by_staff(self, text: str, fields=("email", "full_name", "preferred_name", "orcid", "institution")):
        """Users matching every word of a staff search, each word in one of `fields`."""
        words = search_words(text)
        return self.filter(pk__in=User.objects.matching_every_word(words, fields).values("pk")) if words else self


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields["is_staff"] = True
        extra_fields["is_superuser"] = True
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username):
        # Email addresses are unique regardless of case: "Ana@Lab.org" and "ana@lab.org" are one login.
        return self.get(email__iexact=username)


class CareerStage(models.TextChoices):
    STUDENT = "student", _("Student")
    TRAINEE = "trainee", _("Postdoctoral trainee")
    EARLY = "early", _("Early-career investigator")
    ESTABLISHED = "established", _("Established investigator")
    CLINICIAN = "clinician", _("Clinician")
    INDUSTRY = "industry", _("Industry professional")
    OTHER = "other", _("Other")


class User(AbstractBaseUser, PermissionsMixin):
    """A person with a login. The email address is the login; names are free-form Unicode."""

    email = models.EmailField(_("email address"), max_length=254)
    # One name field: many naming traditions have no "first" and "last" name.
    full_name = models.CharField(_("full name"), max_length=200)
    preferred_name = models.CharField(
        _("preferred name"),
        max_length=100,
        blank=True,
        help_text=_("How we greet you in emails, if not your full name."),
    )
    country = CountryField(_("country"))
    institution = models.CharField(_("institution"), max_length=255, blank=True)
    # Who invoices and receipts are made out to (an institution often reimburses its researcher's dues).
    billing_name = models.CharField(
        _("billing name"), max_length=200, blank=True, help_text=_("Leave empty to use your full name.")
    )
    billing_address = models.TextField(_("billing address"), max_length=500, blank=True)
    billing_institution = models.CharField(_("institution to invoice"), max_length=255, blank=True)
    billing_tax_id = models.CharField(_("VAT or tax id"), max_length=50, blank=True)
    position = models.CharField(_("career stage"), max_length=20, choices=CareerStage.choices, blank=True)
    orcid = models.CharField(
        _("ORCID iD"),
        max_length=19,
        blank=True,
        validators=[validate_orcid],
        help_text=_("For example 0000-0002-1825-0097."),
    )
    language = models.CharField(
        _("preferred language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    directory_visible = models.BooleanField(
        _("listed in the member directory"),
        default=False,
        help_text=_("Other members can see your name, institution, country and ORCID iD."),
    )
    # Announcements only: receipts, security and renewal emails are not optional (settings.
    # NON_TRANSACTIONAL_EMAIL_KINDS). Checked again when each email is sent, so an opt-out stops the next one.
    wants_announcements = models.BooleanField(
        _("email me the society's announcements"),
        default=True,
        help_text=_("Receipts, security and renewal emails are always sent."),
    )
    profile_updated_at = models.DateTimeField(_("profile last updated"), null=True, blank=True)
    # Derived, kept by the database (models/directory.py): the own membership's current_end as its status sees
    # it. in_directory() compares it with the grace floor instead of joining the memberships.
    membership_end = models.DateField(null=True, blank=True, editable=False)
    # Set when the member asked for erasure: the row stays (memberships and orders point to it), anonymised.
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True, editable=False)

    is_staff = models.BooleanField(_("staff status"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    history = HistoricalRecords(excluded_fields=["password", "last_login", "membership_end"])

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name", "country"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.UniqueConstraint(fields=["orcid"], condition=~models.Q(orcid=""), name="user_orcid_unique"),
        ]
        indexes = [
            models.Index(Lower("full_name"), name="user_full_name_lower"),
            # Directory search: "contains" on the accent-free key is a LIKE '%…%' these trigram indexes serve.
            GinIndex(OpClass(search_key("full_name"), name="gin_trgm_ops"), name="user_full_name_trgm"),
            GinIndex(OpClass(search_key("institution"), name="gin_trgm_ops"), name="user_institution_trgm"),
            # The same keys over listed members only (in_directory() implies the condition): a directory search
            # then reads the ~100,000 listed of 500,000 accounts, not every account with that name.
            GinIndex(
                OpClass(search_key("full_name"), name="gin_trgm_ops"),
                condition=models.Q(directory_visible=True),
                name="user_listed_name_trgm",
            ),
            GinIndex(
                OpClass(search_key("institution"), name="gin_trgm_ops"),
                condition=models.Q(directory_visible=True),
                name="user_listed_institution_trgm",
            ),
            # Staff search (STAFF_SEARCH_KEYS) and the filters and ordering of the staff lists, at 500,000 members.
            GinIndex(OpClass(search_key("preferred_name"), name="gin_trgm_ops"), name="user_preferred_name_trgm"),
            GinIndex(OpClass(Upper("email"), name="gin_trgm_ops"), name="user_email_trgm"),
            GinIndex(OpClass(Upper("orcid"), name="gin_trgm_ops"), name="user_orcid_trgm"),
            models.Index(fields=["country"], name="user_country"),
            models.Index(fields=["email", "-id"], name="user_email_order"),
            # The directory's count without a search: an index-only scan of the listed members.
            models.Index(fields=["membership_end"], condition=LISTED, name="user_listed_membership_end"),
            # The directory browsed in each reader's collation (DirectoryView): its first page reads 25 entries
            # of one of these instead of sorting 100,000 listed names.
            *[
                models.Index(
                    Collate("full_name", icu_collation(code)),
                    models.F("id"),
                    condition=LISTED,
                    name=f"user_listed_name_{code.replace('-', '_')}",
                )
                for code, _name in settings.LANGUAGES
            ],
        ]
        triggers = [USER_MEMBERSHIP_END_FROM_MEMBERSHIP]

    def __str__(self):
        if self.erased_at:
            return str(_("Erased member #%(id)s") % {"id": self.pk})
        return self.full_name or self.email

    def get_full_name(self):
        return self.full_name

    def get_short_name(self):
        return self.preferred_name or self.full_name

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email)
