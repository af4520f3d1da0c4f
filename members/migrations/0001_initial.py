"""Accounts, memberships, dues, orders and imports: the squashed history up to December 2026.

Beside what makemigrations writes, by hand: the unaccent and trigram extensions with the IMMUTABLE
society_unaccent() wrapper that the directory's trigram indexes are built on (before the user table), and
every country's World Bank income band as CountryBand rows with their first history entry (at the end).
The current_end triggers come from the models (pgtrigger). Tables are created empty here, so the backfills
the old history needed (current_end here, edition languages in guidelines) have nothing to do and are not
repeated.
"""

from decimal import Decimal

import django.contrib.postgres.indexes
import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
import django_countries.fields
import pgtrigger.compiler
import pgtrigger.migrations
import simple_history.models
from django.conf import settings
from django.contrib.postgres.operations import TrigramExtension, UnaccentExtension
from django.db import migrations, models
from django.utils import timezone
from django_countries import countries

import members.models.accounts
import members.validators
from members.country_bands import band_for

# unaccent() is only STABLE (its dictionary could change), so Postgres refuses it in an index. This wrapper
# pins the dictionary by schema-qualified name and declares the result IMMUTABLE, the documented way to
# index unaccented text.
CREATE_UNACCENT = """
CREATE OR REPLACE FUNCTION society_unaccent(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$;
"""
DROP_UNACCENT = "DROP FUNCTION IF EXISTS society_unaccent(text);"


def assign_bands(apps, schema_editor):
    """Every ISO 3166-1 country in its World Bank income band (members/country_bands.py), each with a first
    history entry, so a later reassignment in admin shows what it replaced."""
    CountryBand = apps.get_model("members", "CountryBand")
    HistoricalCountryBand = apps.get_model("members", "HistoricalCountryBand")
    existing = set(CountryBand.objects.values_list("country", flat=True))
    created = CountryBand.objects.bulk_create(
        [CountryBand(country=code, band=band_for(code)) for code, _name in countries if code not in existing]
    )
    now = timezone.now()
    HistoricalCountryBand.objects.bulk_create(
        [
            HistoricalCountryBand(
                id=row.pk,
                country=row.country,
                band=row.band,
                updated_at=row.updated_at,
                history_date=now,
                history_type="+",
                history_change_reason="World Bank classification FY2026",
            )
            for row in created
        ]
    )


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        UnaccentExtension(),
        TrigramExtension(),
        migrations.RunSQL(CREATE_UNACCENT, DROP_UNACCENT),
        migrations.CreateModel(
            name="CountryBand",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("country", django_countries.fields.CountryField(max_length=2, unique=True, verbose_name="country")),
                (
                    "band",
                    models.CharField(
                        choices=[
                            ("high", "High income"),
                            ("upper_middle", "Upper-middle income"),
                            ("lower_middle", "Lower-middle income"),
                            ("low", "Low income"),
                        ],
                        max_length=20,
                        verbose_name="income band",
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated")),
            ],
            options={
                "verbose_name": "country income band",
                "verbose_name_plural": "country income bands",
                "ordering": ["country"],
            },
        ),
        migrations.CreateModel(
            name="OrderNumberCounter",
            fields=[
                ("year", models.PositiveSmallIntegerField(primary_key=True, serialize=False)),
                ("last_number", models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="User",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("password", models.CharField(max_length=128, verbose_name="password")),
                ("last_login", models.DateTimeField(blank=True, null=True, verbose_name="last login")),
                (
                    "is_superuser",
                    models.BooleanField(
                        default=False,
                        help_text="Designates that this user has all permissions without explicitly assigning them.",
                        verbose_name="superuser status",
                    ),
                ),
                ("email", models.EmailField(max_length=254, verbose_name="email address")),
                ("full_name", models.CharField(max_length=200, verbose_name="full name")),
                (
                    "preferred_name",
                    models.CharField(
                        blank=True,
                        help_text="How we greet you in emails, if not your full name.",
                        max_length=100,
                        verbose_name="preferred name",
                    ),
                ),
                ("country", django_countries.fields.CountryField(max_length=2, verbose_name="country")),
                ("institution", models.CharField(blank=True, max_length=255, verbose_name="institution")),
                (
                    "position",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("student", "Student"),
                            ("trainee", "Postdoctoral trainee"),
                            ("early", "Early-career investigator"),
                            ("established", "Established investigator"),
                            ("clinician", "Clinician"),
                            ("industry", "Industry professional"),
                            ("other", "Other"),
                        ],
                        max_length=20,
                        verbose_name="career stage",
                    ),
                ),
                (
                    "orcid",
                    models.CharField(
                        blank=True,
                        help_text="For example 0000-0002-1825-0097.",
                        max_length=19,
                        validators=[members.validators.validate_orcid],
                        verbose_name="ORCID iD",
                    ),
                ),
                (
                    "language",
                    models.CharField(
                        choices=[
                            ("en", "English"),
                            ("es", "Spanish"),
                            ("fr", "French"),
                            ("de", "German"),
                            ("pt", "Portuguese"),
                            ("zh-hans", "Simplified Chinese"),
                            ("ja", "Japanese"),
                        ],
                        default="en",
                        max_length=10,
                        verbose_name="preferred language",
                    ),
                ),
                (
                    "directory_visible",
                    models.BooleanField(
                        default=False,
                        help_text="Other members can see your name, institution, country and ORCID iD.",
                        verbose_name="listed in the member directory",
                    ),
                ),
                (
                    "profile_updated_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="profile last updated"),
                ),
                ("erased_at", models.DateTimeField(blank=True, editable=False, null=True, verbose_name="erased")),
                ("is_staff", models.BooleanField(default=False, verbose_name="staff status")),
                ("is_active", models.BooleanField(default=True, verbose_name="active")),
                ("date_joined", models.DateTimeField(default=django.utils.timezone.now, verbose_name="date joined")),
                (
                    "groups",
                    models.ManyToManyField(
                        blank=True,
                        help_text="The groups this user belongs to. A user will get all permissions granted to each of their groups.",
                        related_name="user_set",
                        related_query_name="user",
                        to="auth.group",
                        verbose_name="groups",
                    ),
                ),
                (
                    "user_permissions",
                    models.ManyToManyField(
                        blank=True,
                        help_text="Specific permissions for this user.",
                        related_name="user_set",
                        related_query_name="user",
                        to="auth.permission",
                        verbose_name="user permissions",
                    ),
                ),
            ],
            options={
                "verbose_name": "user",
                "verbose_name_plural": "users",
            },
            managers=[
                ("objects", members.models.accounts.UserManager()),
            ],
        ),
        migrations.CreateModel(
            name="HistoricalCountryBand",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                ("country", django_countries.fields.CountryField(db_index=True, max_length=2, verbose_name="country")),
                (
                    "band",
                    models.CharField(
                        choices=[
                            ("high", "High income"),
                            ("upper_middle", "Upper-middle income"),
                            ("lower_middle", "Lower-middle income"),
                            ("low", "Low income"),
                        ],
                        max_length=20,
                        verbose_name="income band",
                    ),
                ),
                ("updated_at", models.DateTimeField(blank=True, editable=False, verbose_name="updated")),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "historical country income band",
                "verbose_name_plural": "historical country income bands",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="HistoricalMembership",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created")),
                ("cancelled_at", models.DateTimeField(blank=True, null=True, verbose_name="cancelled")),
                ("cancel_reason", models.TextField(blank=True, verbose_name="reason for cancellation")),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "historical membership",
                "verbose_name_plural": "historical memberships",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="HistoricalUser",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                (
                    "is_superuser",
                    models.BooleanField(
                        default=False,
                        help_text="Designates that this user has all permissions without explicitly assigning them.",
                        verbose_name="superuser status",
                    ),
                ),
                ("email", models.EmailField(max_length=254, verbose_name="email address")),
                ("full_name", models.CharField(max_length=200, verbose_name="full name")),
                (
                    "preferred_name",
                    models.CharField(
                        blank=True,
                        help_text="How we greet you in emails, if not your full name.",
                        max_length=100,
                        verbose_name="preferred name",
                    ),
                ),
                ("country", django_countries.fields.CountryField(max_length=2, verbose_name="country")),
                ("institution", models.CharField(blank=True, max_length=255, verbose_name="institution")),
                (
                    "position",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("student", "Student"),
                            ("trainee", "Postdoctoral trainee"),
                            ("early", "Early-career investigator"),
                            ("established", "Established investigator"),
                            ("clinician", "Clinician"),
                            ("industry", "Industry professional"),
                            ("other", "Other"),
                        ],
                        max_length=20,
                        verbose_name="career stage",
                    ),
                ),
                (
                    "orcid",
                    models.CharField(
                        blank=True,
                        help_text="For example 0000-0002-1825-0097.",
                        max_length=19,
                        validators=[members.validators.validate_orcid],
                        verbose_name="ORCID iD",
                    ),
                ),
                (
                    "language",
                    models.CharField(
                        choices=[
                            ("en", "English"),
                            ("es", "Spanish"),
                            ("fr", "French"),
                            ("de", "German"),
                            ("pt", "Portuguese"),
                            ("zh-hans", "Simplified Chinese"),
                            ("ja", "Japanese"),
                        ],
                        default="en",
                        max_length=10,
                        verbose_name="preferred language",
                    ),
                ),
                (
                    "directory_visible",
                    models.BooleanField(
                        default=False,
                        help_text="Other members can see your name, institution, country and ORCID iD.",
                        verbose_name="listed in the member directory",
                    ),
                ),
                (
                    "profile_updated_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="profile last updated"),
                ),
                ("erased_at", models.DateTimeField(blank=True, editable=False, null=True, verbose_name="erased")),
                ("is_staff", models.BooleanField(default=False, verbose_name="staff status")),
                ("is_active", models.BooleanField(default=True, verbose_name="active")),
                ("date_joined", models.DateTimeField(default=django.utils.timezone.now, verbose_name="date joined")),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "historical user",
                "verbose_name_plural": "historical users",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="MemberImport",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("file_name", models.CharField(max_length=255, verbose_name="file name")),
                ("content", models.TextField(verbose_name="content")),
                ("total_rows", models.PositiveIntegerField(default=0, verbose_name="rows")),
                ("checked_rows", models.PositiveIntegerField(default=0, verbose_name="rows checked")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("checking", "Checking rows"),
                            ("invalid", "Rejected: some rows are invalid"),
                            ("importing", "Importing"),
                            ("done", "Done"),
                        ],
                        default="checking",
                        max_length=20,
                        verbose_name="status",
                    ),
                ),
                ("errors", models.JSONField(blank=True, default=list, verbose_name="errors")),
                ("summary", models.JSONField(blank=True, default=dict, verbose_name="summary")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created")),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "member import",
                "verbose_name_plural": "member imports",
                "ordering": ["-created_at"],
            },
        ),
        migrations.CreateModel(
            name="Membership",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created")),
                ("cancelled_at", models.DateTimeField(blank=True, null=True, verbose_name="cancelled")),
                ("cancel_reason", models.TextField(blank=True, verbose_name="reason for cancellation")),
                (
                    "current_end",
                    models.DateField(
                        blank=True, db_index=True, editable=False, null=True, verbose_name="current term ends"
                    ),
                ),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="membership",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "membership",
                "verbose_name_plural": "memberships",
            },
        ),
        migrations.CreateModel(
            name="MembershipType",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100, verbose_name="name")),
                ("slug", models.SlugField(unique=True, verbose_name="slug")),
                ("description", models.TextField(blank=True, verbose_name="description")),
                ("eligibility", models.TextField(blank=True, verbose_name="eligibility")),
                ("term_months", models.PositiveSmallIntegerField(default=12, verbose_name="term length in months")),
                (
                    "requires_approval",
                    models.BooleanField(
                        default=False,
                        help_text="For example students, who describe their proof of status.",
                        verbose_name="staff must approve",
                    ),
                ),
                (
                    "is_purchasable",
                    models.BooleanField(
                        default=True,
                        help_text="Off for types only staff grant, such as Honorary.",
                        verbose_name="members can buy it",
                    ),
                ),
                ("is_active", models.BooleanField(default=True, verbose_name="active")),
                ("display_order", models.PositiveSmallIntegerField(default=0, verbose_name="display order")),
            ],
            options={
                "verbose_name": "membership type",
                "verbose_name_plural": "membership types",
                "ordering": ["display_order", "name"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("term_months__gte", 1)), name="membershiptype_term_positive"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="HistoricalPrice",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                (
                    "band",
                    models.CharField(
                        choices=[
                            ("high", "High income"),
                            ("upper_middle", "Upper-middle income"),
                            ("lower_middle", "Lower-middle income"),
                            ("low", "Low income"),
                        ],
                        max_length=20,
                        verbose_name="income band",
                    ),
                ),
                ("amount", models.DecimalField(decimal_places=2, max_digits=10, verbose_name="amount")),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "membership_type",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="members.membershiptype",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical price",
                "verbose_name_plural": "historical prices",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="HistoricalOrder",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                ("number", models.CharField(db_index=True, editable=False, max_length=20, verbose_name="number")),
                (
                    "country",
                    django_countries.fields.CountryField(
                        blank=True, max_length=2, verbose_name="country at order time"
                    ),
                ),
                (
                    "band",
                    models.CharField(
                        choices=[
                            ("high", "High income"),
                            ("upper_middle", "Upper-middle income"),
                            ("lower_middle", "Lower-middle income"),
                            ("low", "Low income"),
                        ],
                        max_length=20,
                        verbose_name="income band",
                    ),
                ),
                ("amount", models.DecimalField(decimal_places=2, max_digits=10, verbose_name="amount")),
                ("currency", models.CharField(max_length=3, verbose_name="currency")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("paid", "Paid"),
                            ("failed", "Failed"),
                            ("cancelled", "Cancelled"),
                            ("refunded", "Refunded"),
                        ],
                        default="pending",
                        max_length=20,
                        verbose_name="status",
                    ),
                ),
                (
                    "provider",
                    models.CharField(
                        choices=[
                            ("stripe", "Card (Stripe)"),
                            ("invoice", "Invoice / bank transfer"),
                            ("comp", "Granted by staff"),
                            ("import", "Imported from the previous system"),
                        ],
                        max_length=20,
                        verbose_name="payment method",
                    ),
                ),
                (
                    "provider_reference",
                    models.CharField(
                        blank=True, db_index=True, max_length=255, null=True, verbose_name="provider reference"
                    ),
                ),
                (
                    "payment_intent",
                    models.CharField(
                        blank=True, db_index=True, max_length=255, null=True, verbose_name="Stripe payment intent"
                    ),
                ),
                ("refunded_at", models.DateTimeField(blank=True, null=True, verbose_name="refunded")),
                ("refund_reason", models.TextField(blank=True, verbose_name="reason for refund")),
                (
                    "note",
                    models.TextField(
                        blank=True, help_text="For a term granted by staff: the reason.", verbose_name="note"
                    ),
                ),
                ("needs_approval", models.BooleanField(default=False, editable=False, verbose_name="needs approval")),
                (
                    "applicant_statement",
                    models.TextField(blank=True, verbose_name="how the member meets the eligibility"),
                ),
                ("approved_at", models.DateTimeField(blank=True, null=True, verbose_name="approved")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created")),
                ("paid_at", models.DateTimeField(blank=True, null=True, verbose_name="paid")),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
                (
                    "approved_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "refunded_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "membership",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="members.membership",
                    ),
                ),
                (
                    "membership_type",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="members.membershiptype",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical order",
                "verbose_name_plural": "historical orders",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("number", models.CharField(editable=False, max_length=20, unique=True, verbose_name="number")),
                (
                    "country",
                    django_countries.fields.CountryField(
                        blank=True, max_length=2, verbose_name="country at order time"
                    ),
                ),
                (
                    "band",
                    models.CharField(
                        choices=[
                            ("high", "High income"),
                            ("upper_middle", "Upper-middle income"),
                            ("lower_middle", "Lower-middle income"),
                            ("low", "Low income"),
                        ],
                        max_length=20,
                        verbose_name="income band",
                    ),
                ),
                ("amount", models.DecimalField(decimal_places=2, max_digits=10, verbose_name="amount")),
                ("currency", models.CharField(max_length=3, verbose_name="currency")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("paid", "Paid"),
                            ("failed", "Failed"),
                            ("cancelled", "Cancelled"),
                            ("refunded", "Refunded"),
                        ],
                        default="pending",
                        max_length=20,
                        verbose_name="status",
                    ),
                ),
                (
                    "provider",
                    models.CharField(
                        choices=[
                            ("stripe", "Card (Stripe)"),
                            ("invoice", "Invoice / bank transfer"),
                            ("comp", "Granted by staff"),
                            ("import", "Imported from the previous system"),
                        ],
                        max_length=20,
                        verbose_name="payment method",
                    ),
                ),
                (
                    "provider_reference",
                    models.CharField(
                        blank=True, max_length=255, null=True, unique=True, verbose_name="provider reference"
                    ),
                ),
                (
                    "payment_intent",
                    models.CharField(
                        blank=True, max_length=255, null=True, unique=True, verbose_name="Stripe payment intent"
                    ),
                ),
                ("refunded_at", models.DateTimeField(blank=True, null=True, verbose_name="refunded")),
                ("refund_reason", models.TextField(blank=True, verbose_name="reason for refund")),
                (
                    "note",
                    models.TextField(
                        blank=True, help_text="For a term granted by staff: the reason.", verbose_name="note"
                    ),
                ),
                ("needs_approval", models.BooleanField(default=False, editable=False, verbose_name="needs approval")),
                (
                    "applicant_statement",
                    models.TextField(blank=True, verbose_name="how the member meets the eligibility"),
                ),
                ("approved_at", models.DateTimeField(blank=True, null=True, verbose_name="approved")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created")),
                ("paid_at", models.DateTimeField(blank=True, null=True, verbose_name="paid")),
                (
                    "approved_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "membership",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="orders", to="members.membership"
                    ),
                ),
                (
                    "membership_type",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="orders", to="members.membershiptype"
                    ),
                ),
                (
                    "refunded_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "order",
                "verbose_name_plural": "orders",
                "ordering": ["-created_at"],
            },
        ),
        migrations.CreateModel(
            name="Price",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "band",
                    models.CharField(
                        choices=[
                            ("high", "High income"),
                            ("upper_middle", "Upper-middle income"),
                            ("lower_middle", "Lower-middle income"),
                            ("low", "Low income"),
                        ],
                        max_length=20,
                        verbose_name="income band",
                    ),
                ),
                ("amount", models.DecimalField(decimal_places=2, max_digits=10, verbose_name="amount")),
                (
                    "membership_type",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="prices", to="members.membershiptype"
                    ),
                ),
            ],
            options={
                "verbose_name": "price",
                "verbose_name_plural": "prices",
                "ordering": ["membership_type__display_order", "band"],
            },
        ),
        migrations.CreateModel(
            name="StripeEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("event_id", models.CharField(max_length=255, unique=True, verbose_name="event id")),
                ("type", models.CharField(max_length=100, verbose_name="type")),
                ("received_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="received")),
                ("processed_at", models.DateTimeField(blank=True, null=True, verbose_name="processed")),
                (
                    "order",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="stripe_events",
                        to="members.order",
                    ),
                ),
            ],
            options={
                "verbose_name": "Stripe event",
                "verbose_name_plural": "Stripe events",
                "ordering": ["-received_at"],
            },
        ),
        migrations.CreateModel(
            name="Term",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("start", models.DateField(verbose_name="start")),
                ("end", models.DateField(verbose_name="end (inclusive)")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created")),
                ("voided_at", models.DateTimeField(blank=True, null=True, verbose_name="voided")),
                ("void_reason", models.TextField(blank=True, verbose_name="reason for voiding")),
                (
                    "membership",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="terms", to="members.membership"
                    ),
                ),
                (
                    "membership_type",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="terms", to="members.membershiptype"
                    ),
                ),
                (
                    "order",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="term",
                        to="members.order",
                    ),
                ),
            ],
            options={
                "verbose_name": "term",
                "verbose_name_plural": "terms",
                "ordering": ["membership", "start"],
            },
        ),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(django.db.models.functions.text.Lower("full_name"), name="user_full_name_lower"),
        ),
        migrations.AddIndex(
            model_name="user",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass(
                    members.models.accounts.ImmutableUnaccent(django.db.models.functions.text.Lower("full_name")),
                    name="gin_trgm_ops",
                ),
                name="user_full_name_trgm",
            ),
        ),
        migrations.AddIndex(
            model_name="user",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass(
                    members.models.accounts.ImmutableUnaccent(django.db.models.functions.text.Lower("institution")),
                    name="gin_trgm_ops",
                ),
                name="user_institution_trgm",
            ),
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("email"), name="user_email_ci_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                condition=models.Q(("orcid", ""), _negated=True), fields=("orcid",), name="user_orcid_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="membership",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("cancelled_at__isnull", True), models.Q(("cancel_reason", ""), _negated=True), _connector="OR"
                ),
                name="membership_cancel_has_reason",
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="membership",
            trigger=pgtrigger.compiler.Trigger(
                name="membership_current_end_from_terms",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='\n                    NEW.current_end := (\n                        SELECT MAX("end") FROM members_term WHERE membership_id = NEW.id AND voided_at IS NULL\n                    );\n                    RETURN NEW;\n                ',
                    hash="bb6e76d791413543c4254d5240f80631a200672c",
                    operation="UPDATE",
                    pgid="pgtrigger_membership_current_end_from_terms_2ee7f",
                    table="members_membership",
                    when="BEFORE",
                ),
            ),
        ),
        migrations.AddConstraint(
            model_name="order",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gte", Decimal("0"))), name="order_amount_not_negative"
            ),
        ),
        migrations.AddConstraint(
            model_name="order",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("paid_at__isnull", False), ("status", "paid")),
                    models.Q(("status", "paid"), _negated=True),
                    _connector="OR",
                ),
                name="order_paid_has_paid_at",
            ),
        ),
        migrations.AddConstraint(
            model_name="order",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("provider", "comp"), _negated=True),
                    models.Q(("note", ""), _negated=True),
                    _connector="OR",
                ),
                name="order_comp_has_reason",
            ),
        ),
        migrations.AddConstraint(
            model_name="order",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "refunded"), _negated=True),
                    models.Q(("refunded_at__isnull", False), models.Q(("refund_reason", ""), _negated=True)),
                    _connector="OR",
                ),
                name="order_refunded_has_reason",
            ),
        ),
        migrations.AddConstraint(
            model_name="price",
            constraint=models.UniqueConstraint(fields=("membership_type", "band"), name="price_unique_type_band"),
        ),
        migrations.AddConstraint(
            model_name="price",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gte", Decimal("0"))), name="price_amount_not_negative"
            ),
        ),
        migrations.AddIndex(
            model_name="term",
            index=models.Index(fields=["membership", "-end"], name="term_membership_end"),
        ),
        migrations.AddConstraint(
            model_name="term",
            constraint=models.CheckConstraint(
                condition=models.Q(("end__gte", models.F("start"))), name="term_end_not_before_start"
            ),
        ),
        migrations.AddConstraint(
            model_name="term",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("voided_at__isnull", True), models.Q(("void_reason", ""), _negated=True), _connector="OR"
                ),
                name="term_void_has_reason",
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="term",
            trigger=pgtrigger.compiler.Trigger(
                name="term_sets_current_end",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="\n                    IF TG_OP IN ('UPDATE', 'DELETE') THEN\n                        UPDATE members_membership SET current_end = NULL WHERE id = OLD.membership_id;\n                    END IF;\n                    IF TG_OP IN ('INSERT', 'UPDATE') THEN\n                        UPDATE members_membership SET current_end = NULL WHERE id = NEW.membership_id;\n                    END IF;\n                    RETURN NULL;\n                ",
                    hash="2a1c6a874b64a3558f111bcb218411a17656ff2a",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_term_sets_current_end_f98a3",
                    table="members_term",
                    when="AFTER",
                ),
            ),
        ),
        migrations.RunPython(assign_bands, migrations.RunPython.noop),
    ]
