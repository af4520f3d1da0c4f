import re
import unicodedata

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


MESSAGE_NAME_MARKUP = _("Names cannot contain the characters < or >.")
MESSAGE_NAME_CONTROL = _("Names cannot contain control characters.")
# Characters that only ever appear in names as an attempt to inject markup; apostrophes, hyphens,
# dots and every letter of every script stay allowed ("O'Brien-Løvås", "山中 伸弥").
NAME_FORBIDDEN = re.compile(r"[<>]")
# Zero-width (non-)joiners and direction marks are part of correctly typed Persian, Arabic and Indic names.
NAME_ALLOWED_FORMAT_CHARS = frozenset("\u200c\u200d\u200e\u200f")


def person_name_normalise(value: str) -> str:
    """NFC-normalise and collapse runs of whitespace, so "Nguyễn" typed on two keyboards compares equal."""
    return " ".join(unicodedata.normalize("NFC", value or "").split())


def validate_person_name(value: str) -> None:
    if NAME_FORBIDDEN.search(value or ""):
        raise ValidationError(MESSAGE_NAME_MARKUP, code="name_markup")
    if any(
        unicodedata.category(char) in {"Cc", "Cf"} and char not in NAME_ALLOWED_FORMAT_CHARS for char in value or ""
    ):
        raise ValidationError(MESSAGE_NAME_CONTROL, code="name_control")
