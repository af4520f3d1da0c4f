"""Stripe's API as the portal uses it: the official client pointed at settings.STRIPE_API_BASE, amounts in
minor units, and the errors the payment services raise. Shared by Checkout (stripe.py) and auto-renew."""

import functools
from decimal import Decimal

import stripe as stripe_sdk
from django.conf import settings

# Currencies Stripe counts in whole units (https://docs.stripe.com/currencies#zero-decimal).
ZERO_DECIMAL_CURRENCIES = frozenset(
    ["BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"]
)


class CheckoutUnavailable(Exception):
    """Stripe could not create a Checkout Session (network, configuration); the member may pay by invoice."""


class WebhookRejected(Exception):
    """The event is refused with 400 and nothing is recorded."""


def is_enabled() -> bool:
    return bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_WEBHOOK_SECRET)


def client() -> stripe_sdk.StripeClient:
    """The official client, pointed at settings.STRIPE_API_BASE (Stripe, or a server answering like it)."""
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)


@functools.cache
def _client(api_key: str, api_base: str) -> stripe_sdk.StripeClient:
    # One client (and its connection pool) per key and address, not one per call.
    return stripe_sdk.StripeClient(api_key, base_addresses={"api": api_base}, max_network_retries=2)


def to_minor_units(amount: Decimal, currency: str) -> int:
    if currency.upper() in ZERO_DECIMAL_CURRENCIES:
        return int(amount)
    return int((amount * 100).to_integral_value())
