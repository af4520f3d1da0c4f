"""The World Bank income classification (FY2026, July 2025) of every ISO 3166-1 country, for dues bands.

Used once by the data migration that fills CountryBand; afterwards staff reassign countries in admin,
and each reassignment is kept with its date in CountryBand's history. Countries listed nowhere below are
upper-middle income. Territories the World Bank does not classify take the band of the state that
administers them (or the closest economy), noted where it is not obvious.
"""


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


HIGH = _codes(
    # Classified high income by the World Bank.
    "AD AG AW AU AT BS BH BB BE BM VG BN BG CA KY CL CR HR CW CY "
    "CZ DK EE FO FI FR PF DE GI GR GL GU GY HK HU IS IE IM IL IT "
    "JP KR KW LV LI LT LU MO MT MC NR NL NC NZ MP NO OM PW PA PL "
    "PT PR QA RO RU SM SA SC SG SX SK SI ES KN MF SE CH TW TT TC "
    "AE GB US UY VI "
    # Not classified separately: part of or administered by a high-income state, or without residents.
    "GG JE "  # the Channel Islands, classified together
    "AX "  # Åland (Finland)
    "GF GP MQ RE YT BL PM "  # French overseas departments and collectivities
    "BQ "  # Caribbean Netherlands
    "AI FK IO GS PN "  # British overseas territories
    "CX CC NF HM "  # Australian external territories
    "SJ BV "  # Norwegian territories
    "UM TF VA "  # US minor outlying islands, French Southern Territories, Holy See
    "AQ "  # Antarctica: no residents; the band only matters if someone lists it as their country
    ""
)

LOWER_MIDDLE = _codes(
    "AO BD BJ BT BO KH CM KM CG CI DJ EG SZ GH GN HT HN IN JO KE "
    "KI KG LA LB LS MR FM MA MM NA NP NI NG PK PG PH ST SN SB LK "
    "TZ TJ TL TN UZ VU VN PS ZM ZW "
    # Not classified by the World Bank:
    "VE "  # unclassified since FY2022 for lack of data; incomes today are closest to lower-middle
    "EH "  # Western Sahara: closest economy is Morocco's
    ""
)

LOW = _codes("AF BF BI CF TD CD ER ET GM GW KP LR MG MW ML MZ NE RW SL SO SS SD SY TG UG YE")

# Upper-middle by default, including these unclassified ones: Cook Islands, Niue, Tokelau (New Zealand
# free association; incomes close to Samoa's and Tonga's), Montserrat, Saint Helena, Wallis and Futuna.


def band_for(code: str) -> str:
    if code in HIGH:
        return "high"
    if code in LOWER_MIDDLE:
        return "lower_middle"
    if code in LOW:
        return "low"
    return "upper_middle"
