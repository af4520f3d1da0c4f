import pytest
from django_countries import countries

from members import country_bands
from members.country_bands import band_for
from members.models import CountryBand
from tests.factories import CountryBandFactory, StaffFactory


def test_every_iso_country_gets_exactly_one_band():
    codes = {code for code, _name in countries}
    listed = country_bands.HIGH | country_bands.LOWER_MIDDLE | country_bands.LOW
    assert listed <= codes  # no typo in the lists
    assert not (country_bands.HIGH & country_bands.LOWER_MIDDLE)
    assert not (country_bands.HIGH & country_bands.LOW)
    assert not (country_bands.LOWER_MIDDLE & country_bands.LOW)
    assert {band_for(code) for code in codes} == {"high", "upper_middle", "lower_middle", "low"}


@pytest.mark.parametrize(
    ("code", "band"),
    [
        ("US", "high"),
        ("DE", "high"),
        ("CR", "high"),
        ("BR", "upper_middle"),
        ("CN", "upper_middle"),
        ("IN", "lower_middle"),
        ("NG", "lower_middle"),
        ("UG", "low"),
        ("AF", "low"),
        ("VE", "lower_middle"),
    ],
)
def test_world_bank_classification_examples(code, band):
    assert band_for(code) == band


@pytest.mark.django_db
def test_staff_reassign_a_country_and_the_change_is_kept_with_its_date(client):
    CountryBand.objects.filter(country="VE").delete()  # the migration's row may or may not be there
    band = CountryBandFactory(country="VE", band="lower_middle")
    client.force_login(StaffFactory(is_superuser=True))
    response = client.post(f"/admin/members/countryband/{band.pk}/change/", {"country": "VE", "band": "upper_middle"})
    assert response.status_code == 302
    history = list(band.history.order_by("history_date").values_list("band", "history_date"))
    assert [entry[0] for entry in history] == ["lower_middle", "upper_middle"]
    assert history[-1][1] is not None
