import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

ORCID_FORMAT = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")
ORCID_URL_PREFIXES = ("https://orcid.org/", "http://orcid.org/", "orcid.org/")

MESSAGE_ORCID_FORMAT = _("Enter an ORCID iD in the form 0000-0002-1825-0097.")
MESSAGE_ORCID_CHECKSUM = _("This ORCID iD has a wrong check digit; please copy it again from your ORCID record.")


def orcid_normalise(value: str) -> str:
    """Accept the forms members paste (URL, lowercase x, spaces) and return 0000-0000-0000-000X."""
    value = (value or "").strip()
    for prefix in ORCID_URL_PREFIXES:
        if value.lower().startswith(prefix):
            value = value[len(prefix) :]
    value = value.replace(" ", "").upper()
    if re.fullmatch(r"\d{15}[\dX]", value):
        value = "-".join(value[i : i + 4] for i in range(0, 16, 4))
    return value


def orcid_checksum_ok(value: str) -> bool:
    # ISO 7064 MOD 11-2, as specified by ORCID for the final character.
    digits = value.replace("-", "")
    total = 0
    for char in digits[:-1]:
        total = (total + int(char)) * 2
    result = (12 - total % 11) % 11
    expected = "X" if result == 10 else str(result)
    return digits[-1] == expected


def validate_orcid(value: str) -> None:
    if not ORCID_FORMAT.match(value or ""):
        raise ValidationError(MESSAGE_ORCID_FORMAT, code="orcid_format")
    if not orcid_checksum_ok(value):
        raise ValidationError(MESSAGE_ORCID_CHECKSUM, code="orcid_checksum")
