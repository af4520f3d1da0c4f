"""A local HTTP server answering like Stripe's API, so tests never touch the network."""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeStripe:
    def __init__(self):
        self.requests = []
        self.sessions = {}
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

            def _send(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Request-Id", "req_test")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
