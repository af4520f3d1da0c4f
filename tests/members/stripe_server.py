"""A local HTTP server answering like Stripe's API, so tests never touch the network."""

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeStripe:
    def __init__(self):
        self.requests = []
        self.sessions = {}
        self.refunds = {}  # by idempotency key
        self.payment_intents = {}  # by id: PaymentIntents of sessions paid with pay_session()
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
                if self.path == "/v1/refunds":
                    return self._refund_create(form)
                if self.path != "/v1/checkout/sessions":
                    return self._send(
                        404, {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}}
                    )
                key = self.headers.get("Idempotency-Key")
                # Stripe answers a repeated idempotency key with the first response.
                session = fake.sessions.get(key)
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
                    }
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
                if url.path.startswith("/v1/payment_intents/"):
                    intent = fake.payment_intents.get(url.path.rsplit("/", 1)[1])
                    return self._send(200, intent) if intent else self._missing("payment_intent")
                return self._send(404, {"error": {"type": "invalid_request_error", "message": "Unrecognized URL"}})

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
