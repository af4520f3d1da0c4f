"""A local HTTP server answering like Stripe's API, so tests never touch the network."""

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The secret the tests sign webhook deliveries with (settings.STRIPE_WEBHOOK_SECRET during the test).
WEBHOOK_SECRET = "whsec_test_secret_for_signatures"


class FakeStripe:
    def __init__(self):
        self.requests = []
        self.sessions = {}
        self._autorenew_init()
        self.refunds = {}  # by idempotency key
        self.fail_refunds = None  # an error object to answer refunds with (a decline, an outage)
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                form = dict(urllib.parse.parse_qsl(body))
                fake.requests.append({"path": self.path, "headers": dict(self.headers), "form": form})
                if self.path in fake.AUTORENEW_POSTS:
                    return self._send(*fake.autorenew_post(self.path, form, self.headers.get("Idempotency-Key")))
                if self.path == "/v1/refunds":
                    return self._refund_create(form)
                if self.path != "/v1/checkout/sessions":
                    return self._send(
                        404, {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}}
                    )
                key = self.headers.get("Idempotency-Key")
                # Stripe answers a repeated idempotency key with the first response.
                session = fake.sessions.get(key)
                if session is None and form.get("mode") == "setup":
                    session = fake.setup_session(form)
                    fake.sessions[key or session["id"]] = session
                if session is None:
                    session_id = f"cs_test_{len(fake.sessions) + 1:024d}"
                    session = {
                        "id": session_id,
                        "object": "checkout.session",
                        "amount_total": int(form["line_items[0][price_data][unit_amount]"]),
                        "currency": form["line_items[0][price_data][currency]"],
                        "client_reference_id": form.get("client_reference_id"),
                        "metadata": {"order_number": form.get("metadata[order_number]")},
                        "mode": "payment",
                        "payment_status": "unpaid",
                        "status": "open",
                        "success_url": form.get("success_url"),
                        "url": f"https://checkout.stripe.com/c/pay/{session_id}",
                        "customer": form.get("customer"),
                        "payment_intent": None,
                    }
                    if form.get("payment_intent_data[setup_future_usage]"):
                        session["metadata"]["auto_renew"] = form.get("metadata[auto_renew]")
                    fake.sessions[key] = session
                return self._send(200, session)

            def do_GET(self):
                # Retrieval of Checkout Sessions (with ?expand[]=payment_intent) and PaymentIntents.
                url = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(url.query)
                fake.requests.append({"path": url.path, "headers": dict(self.headers), "query": query})
                if url.path.startswith("/v1/checkout/sessions/"):
                    # The SDK sends expand[0]=...; Stripe also accepts expand[]=...
                    expand = [v for k, values in query.items() if k.startswith("expand[") for v in values]
                    return self._session_retrieve(url.path.rsplit("/", 1)[1], expand)
                # PaymentIntents, SetupIntents, PaymentMethods and Customers (auto-renew), with expand.
                expand = [v for k, values in query.items() if k.startswith("expand") for v in values]
                found = fake.autorenew_get(url.path, expand)
                if found is None:
                    return self._send(404, {"error": {"type": "invalid_request_error", "message": "No such object"}})
                return self._send(200, found)

            def _session_retrieve(self, session_id, expand):
                session = fake.session_by_id(session_id)
                if session is None:
                    return self._missing("checkout.session")
                session = dict(session)
                if "payment_intent" in expand and session.get("payment_intent"):
                    session["payment_intent"] = fake.payment_intents[session["payment_intent"]]
                return self._send(200, session)

            def _refund_create(self, form):
                if fake.fail_refunds is not None:
                    return self._send(fake.fail_refunds[0], {"error": fake.fail_refunds[1]})
                key = self.headers.get("Idempotency-Key")
                refund = fake.refunds.get(key)
                if refund is None:
                    intent = fake.payment_intents.get(form.get("payment_intent"))
                    if intent is None:
                        return self._missing("payment_intent")
                    already = sum(r["amount"] for r in fake.refunds.values() if r["payment_intent"] == intent["id"])
                    amount = int(form.get("amount") or intent["amount"] - already)
                    if amount > intent["amount"] - already:
                        return self._send(
                            400,
                            {
                                "error": {
                                    "type": "invalid_request_error",
                                    "code": "amount_too_large",
                                    "message": f"Refund amount ({amount}) is greater than unrefunded amount.",
                                    "param": "amount",
                                }
                            },
                        )
                    refund = {
                        "id": f"re_test_{len(fake.refunds) + 1:024d}",
                        "object": "refund",
                        "amount": amount,
                        "balance_transaction": f"txn_test_{len(fake.refunds) + 1:024d}",
                        "charge": intent["latest_charge"],
                        "created": int(time.time()),
                        "currency": intent["currency"],
                        "metadata": {"order_number": form.get("metadata[order_number]")},
                        "payment_intent": intent["id"],
                        "reason": form.get("reason"),
                        "receipt_number": None,
                        "source_transfer_reversal": None,
                        "status": "succeeded",
                        "transfer_reversal": None,
                    }
                    fake.refunds[key] = refund
                return self._send(200, refund)

            def _missing(self, kind):
                error = {"type": "invalid_request_error", "code": "resource_missing", "message": f"No such {kind}"}
                return self._send(404, {"error": error})

            def _send(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Request-Id", "req_test")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    # --- Saved cards and off-session charges (auto-renew) -----------------------------------------------------
    # Test cards behave like Stripe's: https://docs.stripe.com/testing#declined-payments
    AUTORENEW_POSTS = ("/v1/customers", "/v1/payment_intents")

    def _autorenew_init(self):
        self.customers = {}
        self.payment_methods = {}
        self.payment_intents = {}
        self.setup_intents = {}
        self.idempotent = {}  # Idempotency-Key -> the first (status, body), errors included, as Stripe keeps them
        # What charging a payment method does: "succeed", "decline" or "authenticate". Tests change it.
        self.card_outcome = {}
        self.setup_card = "pm_card_visa"
        self.add_card("pm_card_visa", brand="visa", last4="4242", exp_month=12, exp_year=2034)
        self.add_card("pm_card_chargeDeclined", brand="visa", last4="0002", exp_month=12, exp_year=2034)
        self.card_outcome["pm_card_chargeDeclined"] = "decline"
        self.add_card("pm_card_authenticationRequired", brand="visa", last4="3155", exp_month=12, exp_year=2034)
        self.card_outcome["pm_card_authenticationRequired"] = "authenticate"

    def add_card(self, pm_id, *, brand, last4, exp_month, exp_year, customer=None):
        self.payment_methods[pm_id] = {
            "id": pm_id,
            "object": "payment_method",
            "type": "card",
            "created": int(time.time()),
            "customer": customer,
            "livemode": False,
            "metadata": {},
            "billing_details": {"address": {}, "email": None, "name": None, "phone": None},
            "card": {
                "brand": brand,
                "country": "US",
                "exp_month": exp_month,
                "exp_year": exp_year,
                "funding": "credit",
                "last4": last4,
                "networks": {"available": [brand], "preferred": None},
                "three_d_secure_usage": {"supported": True},
                "wallet": None,
            },
        }
        return self.payment_methods[pm_id]

    def charges(self):
        """The PaymentIntents created, in order (a repeated idempotency key creates none)."""
        return list(self.payment_intents.values())

    def autorenew_post(self, path, form, key):
        if key and key in self.idempotent:
            return self.idempotent[key]
        answer = (200, self._customer(form)) if path == "/v1/customers" else self._payment_intent(form)
        if key:
            self.idempotent[key] = answer
        return answer

    def autorenew_get(self, path, expand):
        kind, _slash, object_id = path.removeprefix("/v1/").partition("/")
        store = {
            "payment_intents": self.payment_intents,
            "setup_intents": self.setup_intents,
            "payment_methods": self.payment_methods,
            "customers": self.customers,
        }.get(kind)
        found = store.get(object_id) if store is not None else None
        if found is None:
            return None
        found = dict(found)
        if "payment_method" in expand and found.get("payment_method"):
            found["payment_method"] = self.payment_methods[found["payment_method"]]
        return found

    def _customer(self, form):
        customer_id = f"cus_test{len(self.customers) + 1:010d}"
        self.customers[customer_id] = {
            "id": customer_id,
            "object": "customer",
            "created": int(time.time()),
            "email": form.get("email"),
            "name": form.get("name"),
            "livemode": False,
            "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
            "invoice_settings": {"default_payment_method": None},
        }
        return self.customers[customer_id]

    def _payment_intent(self, form):
        pm_id = form.get("payment_method")
        intent_id = f"pi_test{len(self.payment_intents) + 1:018d}"
        outcome = self.card_outcome.get(pm_id, "succeed")
        status = {"succeed": "succeeded", "decline": "requires_payment_method", "authenticate": "requires_action"}[
            outcome
        ]
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(form["amount"]),
            "amount_received": int(form["amount"]) if status == "succeeded" else 0,
            "currency": form["currency"],
            "customer": form.get("customer"),
            "payment_method": pm_id if status != "requires_payment_method" else None,
            "confirmation_method": "automatic",
            "capture_method": "automatic_async",
            "created": int(time.time()),
            "description": form.get("description"),
            "livemode": False,
            "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
            "status": status,
            "latest_charge": f"ch_test{len(self.payment_intents) + 1:018d}",
            "last_payment_error": None,
            "next_action": None,
        }
        self.payment_intents[intent_id] = intent
        if status == "succeeded":
            return 200, intent
        if status == "requires_action":
            intent["next_action"] = {"type": "use_stripe_sdk", "use_stripe_sdk": {}}
            error = {
                "type": "card_error",
                "code": "authentication_required",
                "decline_code": "authentication_required",
                "message": "Your card was declined. This transaction requires authentication.",
            }
        else:
            error = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined.",
            }
        intent["last_payment_error"] = {**error, "payment_method": self.payment_methods.get(pm_id)}
        return 402, {"error": {**error, "payment_intent": intent, "charge": intent["latest_charge"]}}

    def setup_session(self, form):
        number = len(self.sessions) + 1
        session_id = f"cs_test_{number:024d}"
        setup_id = f"seti_test{number:016d}"
        self.setup_intents[setup_id] = {
            "id": setup_id,
            "object": "setup_intent",
            "customer": form.get("customer"),
            "payment_method": self.setup_card,
            "status": "succeeded",
            "usage": "off_session",
            "livemode": False,
            "metadata": {},
        }
        return {
            "id": session_id,
            "object": "checkout.session",
            "mode": "setup",
            "customer": form.get("customer"),
            "setup_intent": setup_id,
            "client_reference_id": form.get("client_reference_id"),
            "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
            "payment_status": "no_payment_required",
            "status": "open",
            "success_url": form.get("success_url"),
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        }

    def session_by_id(self, session_id):
        return next((s for s in self.sessions.values() if s["id"] == session_id), None)

    def pay_session(self, session_id, *, created=None):
        """The member paid on Stripe's page: the session completes and gets a succeeded PaymentIntent."""
        session = self.session_by_id(session_id)
        created = int(time.time()) if created is None else created
        number = len(self.payment_intents) + 1
        intent = {
            "id": f"pi_test_{number:024d}",
            "object": "payment_intent",
            "amount": session["amount_total"],
            "amount_received": session["amount_total"],
            "created": created,
            "currency": session["currency"],
            "latest_charge": f"ch_test_{number:024d}",
            "metadata": {},
            "payment_method": f"pm_test_{number:024d}",
            "status": "succeeded",
        }
        self.payment_intents[intent["id"]] = intent
        session.update(payment_status="paid", status="complete", payment_intent=intent["id"])
        return intent

    def add_payment_intent(self, intent_id, *, amount, currency):
        """A PaymentIntent Stripe holds for an order paid through a (signed) webhook in the test."""
        self.payment_intents[intent_id] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": amount,
            "created": int(time.time()),
            "currency": currency,
            "latest_charge": "ch_" + intent_id.removeprefix("pi_"),
            "metadata": {},
            "status": "succeeded",
        }

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
