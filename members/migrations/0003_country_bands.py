"""Assign every ISO 3166-1 country to a World Bank income band (see members/country_bands.py).

Each row also gets its first history entry, so a later reassignment in admin shows what it replaced.
"""

from django.db import migrations
from django.utils import timezone


def assign_bands(apps, schema_editor):
    from django_countries import countries

    from members.country_bands import band_for

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
    dependencies = [("members", "0002_membership_core")]

    operations = [migrations.RunPython(assign_bands, migrations.RunPython.noop)]
