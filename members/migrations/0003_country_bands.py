"""Assign every ISO 3166-1 country to a World Bank income band (see members/country_bands.py)."""

from django.db import migrations


def assign_bands(apps, schema_editor):
    from django_countries import countries

    from members.country_bands import band_for

    CountryBand = apps.get_model("members", "CountryBand")
    existing = set(CountryBand.objects.values_list("country", flat=True))
    CountryBand.objects.bulk_create(
        [CountryBand(country=code, band=band_for(code)) for code, _name in countries if code not in existing]
    )


class Migration(migrations.Migration):
    dependencies = [("members", "0002_membership_core")]

    operations = [migrations.RunPython(assign_bands, migrations.RunPython.noop)]
