"""A local stand-in for ORCID's OAuth token endpoint and public API record endpoint.

Responses are shaped like ORCID's own (https://info.orcid.org/documentation/api-tutorials/): the token
response carries `orcid` and `name`, and the v3.0 record nests names under person.name and keeps
emails private (an empty list) unless the researcher made them public, which most do not.
"""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def orcid_record(orcid: str, given: str, family: str, emails=()):
    return {
        "orcid-identifier": {"uri": f"https://orcid.org/{orcid}", "path": orcid, "host": "orcid.org"},
        "preferences": {"locale": "en"},
        "history": {
            "creation-method": "MEMBER_REFERRED",
            "submission-date": {"value": 1460757617078},
            "claimed": True,
            "verified-email": True,
            "verified-primary-email": True,
        },
        "person": {
            "last-modified-date": None,
            "name": {
                "created-date": {"value": 1460757617078},
                "last-modified-date": {"value": 1460757617078},
                "given-names": {"value": given},
                "family-name": {"value": family},
                "credit-name": None,
                "source": None,
                "visibility": "public",
                "path": orcid,
            },
            "other-names": {"last-modified-date": None, "other-name": [], "path": f"/{orcid}/other-names"},
            "biography": None,
            "researcher-urls": {"last-modified-date": None, "researcher-url": [], "path": f"/{orcid}/researcher-urls"},
            "emails": {
                "last-modified-date": None,
                "email": [
                    {"email": email, "primary": True, "verified": True, "visibility": "public"} for email in emails
                ],
                "path": f"/{orcid}/email",
            },
            "addresses": {"last-modified-date": None, "address": [], "path": f"/{orcid}/address"},
            "keywords": {"last-modified-date": None, "keyword": [], "path": f"/{orcid}/keywords"},
            "external-identifiers": {
                "last-modified-date": None,
                "external-identifier": [],
                "path": f"/{orcid}/external-identifiers",
            },
            "path": f"/{orcid}/person",
        },
        "activities-summary": {"last-modified-date": None, "path": f"/{orcid}/activities"},
        "path": f"/{orcid}",
    }


class OrcidStub:
    """Serve one researcher's token and record; keep the requests received for assertions."""

    def __init__(self, *, orcid: str, given: str, family: str, emails=(), client_id="APP-TEST", secret="s3cret"):
        self.orcid, self.given, self.family, self.emails = orcid, given, family, tuple(emails)
        self.client_id, self.secret = client_id, secret
        self.requests: list[tuple[str, str, dict]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _json(self, status, payload, content_type="application/json;charset=UTF-8"):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                stub.requests.append(("POST", self.path, form))
                if self.path != "/oauth/token":
                    return self._json(404, {"error": "not_found"})
                if form.get("client_id") != stub.client_id or form.get("client_secret") != stub.secret:
                    return self._json(401, {"error": "invalid_client", "error_description": "Client not found"})
                if form.get("grant_type") != "authorization_code" or form.get("code") != "good-code":
                    return self._json(
                        400, {"error": "invalid_grant", "error_description": "Invalid authorization code"}
                    )
                return self._json(
                    200,
                    {
                        "access_token": "f5af9f51-07e6-4332-8f1a-c0c11c1e3728",
                        "token_type": "bearer",
                        "refresh_token": "f725f747-3a65-49f6-a231-3e8944ce464d",
                        "expires_in": 631138518,
                        "scope": "/authenticate",
                        "name": f"{stub.given} {stub.family}",
                        "orcid": stub.orcid,
                    },
                )

            def do_GET(self):
                stub.requests.append(("GET", self.path, dict(self.headers)))
                if self.path != f"/v3.0/{stub.orcid}/record":
                    return self._json(404, {"response-code": 404, "developer-message": "Not found"})
                return self._json(
                    200,
                    orcid_record(stub.orcid, stub.given, stub.family, stub.emails),
                    content_type="application/orcid+json;charset=UTF-8",
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
