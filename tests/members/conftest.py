"""Fixtures shared by the card-payment tests: Stripe's keys, and the local server answering like Stripe's API."""

import pytest

from tests.members.stripe_server import WEBHOOK_SECRET, FakeStripe


@pytest.fixture
def stripe_settings(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_local"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET


@pytest.fixture
def fake_stripe(settings):
    with FakeStripe() as fake:
        settings.STRIPE_API_BASE = fake.url
        yield fake
