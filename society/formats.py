"""Money in the reader's locale: one helper for pages, emails, receipts and invoices."""

from decimal import Decimal

from babel.numbers import format_currency
from django.conf import settings
from django.utils import translation


def format_money(amount, currency: str | None = None, language: str | None = None) -> str:
    """`amount` in `currency` as readers of `language` (default: the active one) write it: "$1,234.50",
    "1.234,50 US$", "1 234,50 $US", "US$1,234.50"."""
    if amount is None or amount == "":
        return ""
    locale = translation.to_locale(language or translation.get_language() or settings.LANGUAGE_CODE)
    return format_currency(Decimal(amount), currency or settings.DUES_CURRENCY, locale=locale)
