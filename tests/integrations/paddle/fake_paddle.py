"""A fake Paddle Billing on 127.0.0.1 that speaks Paddle's wire format, for tests and the browser test.

- **Webhooks**: builds events shaped like the recorded payloads in ``fixtures/`` and delivers them the
  way Paddle does: ``POST`` with ``Paddle-Signature: ts=<unix>;h1=<HMAC-SHA256 of "<ts>:<body>">``,
  one ``h1`` per notification secret. The signing here is written independently of the service's.
- **API**: ``POST /customers/{id}/portal-sessions`` (bearer API key) answers a portal session with
  ``data.urls.general.overview`` and per-subscription ``cancel_subscription`` links; errors come as
  ``{"error": {"type", "code", "detail"}, "meta": {"request_id"}}``.
- **Paddle.js**: ``/paddle.js`` implements the calls the site makes (``Paddle.Environment.set``,
  ``Paddle.Initialize({token, eventCallback})``, ``Paddle.Checkout.open({items, customData, …})``)
  and opens ``/checkout`` as an overlay iframe. Its "Pay" button makes the transaction at the fake's
  own price, posts the signed ``transaction.completed`` (with ``subscription.created`` first for a
  plan) to the service's ``/hooks/paddle``, then tells the page ``checkout.completed``, as the real
  overlay does.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

FIXTURES = Path(__file__).parent / "fixtures"
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def paddle_id(prefix: str) -> str:
    """An id shaped like Paddle's (``txn_01h…``: prefix, underscore, 26 lower-case base32 chars)."""
    return prefix + "_01" + "".join(secrets.choice(_ALPHABET) for _ in range(24))


def fixture(name: str) -> dict[str, Any]:
    """A recorded-style Paddle payload from tests/integrations/paddle/fixtures."""
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def rfc3339(moment: datetime | None = None) -> str:
    """A time the way Paddle writes it: UTC, microseconds, ``Z``."""
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _envelope(name: str, data: dict[str, Any], occurred_at: datetime | None) -> dict[str, Any]:
    event = fixture(name)
    event["event_id"] = paddle_id("evt")
    event["notification_id"] = paddle_id("ntf")
    event["occurred_at"] = rfc3339(occurred_at)
    event["data"] = data
    return event


def transaction_completed(
    user_id: str | None,
    items: Sequence[tuple[str, int, int]],
    *,
    transaction_id: str | None = None,
    subscription_id: str | None = None,
    origin: str = "web",
    custom_data: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> dict[str, Any]:
    """``transaction.completed`` for ``items`` of (price id, quantity, unit amount in minor units)."""
    data = copy.deepcopy(fixture("transaction_completed")["data"])
    template = data["items"][0]
    data["id"] = transaction_id or paddle_id("txn")
    data["items"] = []
    for price_id, quantity, unit in items:
        item = copy.deepcopy(template)
        item["price"]["id"] = item["price_id"] = price_id
        item["price"]["unit_price"]["amount"] = str(unit)
        item["quantity"] = quantity
        data["items"].append(item)
    total = sum(quantity * unit for _, quantity, unit in items)
    for totals in (data["details"]["totals"], data["details"]["adjusted_totals"]):
        totals["total"] = totals["grand_total"] = str(total)
    data["payments"][0]["amount"] = str(total)
    data["custom_data"] = (
        custom_data if custom_data is not None else ({"user_id": user_id} if user_id else None)
    )
    data["subscription_id"] = subscription_id
    data["origin"] = origin
    return _envelope("transaction_completed", data, occurred_at)


def adjustment(
    transaction_id: str,
    total: int,
    *,
    action: str = "refund",
    status: str = "approved",
    adjustment_id: str | None = None,
    event_type: str = "adjustment.updated",
    occurred_at: datetime | None = None,
) -> dict[str, Any]:
    """An adjustment (refund, chargeback…) of ``total`` minor units against a transaction."""
    data = copy.deepcopy(fixture("adjustment_updated")["data"])
    data["id"] = adjustment_id or paddle_id("adj")
    data["transaction_id"] = transaction_id
    data["action"] = action
    data["status"] = status
    data["totals"]["total"] = str(total)
    data["items"][0]["amount"] = str(total)
    event = _envelope("adjustment_updated", data, occurred_at)
    event["event_type"] = event_type
    return event


def subscription_event(
    event_type: str,
    user_id: str | None,
    price_id: str,
    *,
    subscription_id: str,
    status: str = "active",
    occurred_at: datetime | None = None,
    period_start: datetime | None = None,
    customer_id: str = "ctm_01hv6y1jedq4p1n0yqn5ba3ky4",
    scheduled_change: dict[str, Any] | None = None,
    management_base: str = "https://sandbox-buy.paddle.com",
) -> dict[str, Any]:
    """A ``subscription.*`` event for one plan price, its period starting at ``period_start``."""
    data = copy.deepcopy(fixture("subscription_created")["data"])
    start = period_start or datetime.now(UTC)
    end = start + timedelta(days=30)
    data["id"] = subscription_id
    data["status"] = status
    data["customer_id"] = customer_id
    data["items"][0]["price"]["id"] = price_id
    data["custom_data"] = {"user_id": user_id} if user_id else None
    data["current_billing_period"] = {"starts_at": rfc3339(start), "ends_at": rfc3339(end)}
    data["next_billed_at"] = None if status == "canceled" else rfc3339(end)
    data["canceled_at"] = rfc3339(occurred_at) if status == "canceled" else None
    data["scheduled_change"] = scheduled_change
    data["management_urls"] = {
        "cancel": f"{management_base}/subscription/{subscription_id}/hash/x/cancel",
        "update_payment_method": f"{management_base}/subscription/{subscription_id}/hash/x/update",
    }
    event = _envelope("subscription_created", data, occurred_at)
    event["event_type"] = event_type
    return event


def paddle_signature(body: bytes, secrets_: Sequence[str], timestamp: int | None = None) -> str:
    """``ts=…;h1=…`` exactly as Paddle builds it: HMAC-SHA256 over ``"<ts>:<raw body>"``."""
    ts = int(time.time()) if timestamp is None else timestamp
    signed = str(ts).encode() + b":" + body
    hashes = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in secrets_]
    return f"ts={ts};" + ";".join(f"h1={h}" for h in hashes)


def encode(event: dict[str, Any]) -> bytes:
    """The body Paddle sends: compact JSON."""
    return json.dumps(event, separators=(",", ":")).encode()


@dataclass
class FakePaddle:
    """The fake's HTTP server plus what it needs to act like Paddle for one service."""

    webhook_url: str = ""
    notification_secrets: list[str] = field(
        default_factory=lambda: ["pdl_ntfset_fake_" + secrets.token_hex(16)]
    )
    api_key: str = "pdl_sdbx_apikey_" + secrets.token_hex(12)
    client_token: str = "test_" + secrets.token_hex(14)
    prices: dict[str, int] = field(default_factory=dict)  # price id → unit amount (minor units)
    plans: set[str] = field(default_factory=set)  # price ids that are recurring
    checkouts: list[dict[str, Any]] = field(default_factory=list)  # what Paddle.js was asked for
    delivered: list[tuple[dict[str, Any], int]] = field(default_factory=list)
    portal_sessions: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """Where the fake answers (API base, Paddle.js and the checkout overlay)."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def close(self) -> None:
        """Stop serving."""
        self._httpd.shutdown()
        self._httpd.server_close()

    # -- webhooks --------------------------------------------------------------------------------
    def deliver(
        self,
        event: dict[str, Any],
        *,
        secrets_: Sequence[str] | None = None,
        timestamp: int | None = None,
        body: bytes | None = None,
        url: str | None = None,
    ) -> requests.Response:
        """POST one event to the service as Paddle would (``body`` overrides what is sent)."""
        raw = encode(event)
        header = paddle_signature(raw, list(secrets_ or self.notification_secrets), timestamp)
        response = requests.post(
            url or self.webhook_url,
            data=raw if body is None else body,
            headers={"Content-Type": "application/json", "Paddle-Signature": header,
                     "User-Agent": "Paddle"},
            timeout=10,
        )  # fmt: skip
        self.delivered.append((event, response.status_code))
        return response

    def complete_checkout(self, price_id: str, quantity: int, custom_data: dict[str, Any]) -> str:
        """What paying in the overlay does: the transaction at Paddle's price, its events sent."""
        unit = self.prices[price_id]
        user_id = custom_data.get("user_id") if isinstance(custom_data, dict) else None
        subscription_id = None
        if price_id in self.plans:
            subscription_id = paddle_id("sub")
            self.deliver(
                subscription_event(
                    "subscription.created", user_id, price_id, subscription_id=subscription_id,
                    management_base=self.url,
                )
            )  # fmt: skip
        event = transaction_completed(
            None,
            [(price_id, quantity, unit)],
            custom_data=custom_data,
            subscription_id=subscription_id,
            origin="subscription_charge" if subscription_id else "web",
        )
        self.deliver(event)
        return event["data"]["id"]


def _handler(fake: FakePaddle) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes | str, content_type: str) -> None:
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _json(self, status: int, value: Any) -> None:
            self._send(status, json.dumps(value), "application/json")

        def _error(self, status: int, code: str, detail: str) -> None:
            self._json(status, {
                "error": {"type": "request_error", "code": code, "detail": detail,
                          "documentation_url": f"https://developer.paddle.com/errors/shared/{code}"},
                "meta": {"request_id": secrets.token_hex(8)},
            })  # fmt: skip

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/paddle.js":
                self._send(200, PADDLE_JS.replace("__ORIGIN__", fake.url), "text/javascript")
            elif path == "/checkout":
                self._send(200, CHECKOUT_HTML, "text/html; charset=utf-8")
            elif path == "/checkout.js":
                self._send(200, CHECKOUT_JS, "text/javascript")
            elif path.startswith(("/portal/", "/subscription/")):
                self._send(200, "<!doctype html><title>Paddle customer portal</title>"
                           "<h1>Paddle customer portal</h1>", "text/html; charset=utf-8")  # fmt: skip
            else:
                self._error(404, "not_found", f"{path} not found")

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            parts = path.strip("/").split("/")
            if len(parts) == 3 and parts[0] == "customers" and parts[2] == "portal-sessions":
                if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    self._error(403, "forbidden", "You aren't permitted to perform this request.")
                    return
                customer = parts[1]
                fake.portal_sessions.append({"customer_id": customer, **body})
                self._json(201, {
                    "data": {
                        "id": paddle_id("cpls"),
                        "customer_id": customer,
                        "urls": {
                            "general": {"overview": f"{fake.url}/portal/{customer}/overview"},
                            "subscriptions": [
                                {"id": sub,
                                 "cancel_subscription": f"{fake.url}/portal/{customer}/{sub}/cancel",
                                 "update_subscription_payment_method":
                                     f"{fake.url}/portal/{customer}/{sub}/update"}
                                for sub in body.get("subscription_ids") or []
                            ],
                        },
                        "created_at": rfc3339(),
                    },
                    "meta": {"request_id": secrets.token_hex(8)},
                })  # fmt: skip
            elif path == "/checkout/complete":
                if body.get("token") != fake.client_token:
                    self._error(403, "forbidden", "client-side token invalid")
                    return
                fake.checkouts.append(body)
                item = (body.get("items") or [{}])[0]
                price_id = item.get("priceId")
                if price_id not in fake.prices:
                    self._error(404, "not_found", f"price {price_id} not found")
                    return
                txn = fake.complete_checkout(
                    price_id, int(item.get("quantity") or 1), body.get("customData") or {}
                )
                self._json(200, {"transaction_id": txn})
            else:
                self._error(404, "not_found", f"{path} not found")

    return Handler


PADDLE_JS = r"""// Fake Paddle.js v2 for tests: the calls AIDJSets makes, with an overlay served by the fake.
(function () {
  "use strict";
  var origin = "__ORIGIN__";
  var state = { environment: "production", token: null, eventCallback: null, frame: null };
  function emit(name, data) {
    if (typeof state.eventCallback === "function") state.eventCallback({ name: name, data: data || {} });
  }
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || !event.data || !event.data.paddle) return;
    if (event.data.name === "checkout.completed") emit("checkout.completed", event.data.data);
    if (event.data.name === "checkout.closed" && state.frame) {
      state.frame.remove(); state.frame = null; emit("checkout.closed");
    }
  });
  window.Paddle = {
    Environment: { set: function (env) { state.environment = env; } },
    Initialize: function (options) {
      if (!options || !options.token) throw new Error("Paddle.Initialize needs a client-side token");
      state.token = options.token;
      state.eventCallback = options.eventCallback || null;
    },
    Checkout: {
      open: function (options) {
        if (!state.token) throw new Error("call Paddle.Initialize first");
        var request = { token: state.token, environment: state.environment, items: options.items,
                        customData: options.customData || null, customer: options.customer || null };
        var frame = document.createElement("iframe");
        frame.name = "paddle_frame";
        frame.title = "Paddle Checkout";
        frame.src = origin + "/checkout#" + encodeURIComponent(JSON.stringify(request));
        frame.style.position = "fixed"; frame.style.inset = "0"; frame.style.width = "100%";
        frame.style.height = "100%"; frame.style.border = "0"; frame.style.zIndex = "9999";
        document.body.appendChild(frame);
        state.frame = frame;
        emit("checkout.loaded");
      }
    }
  };
})();
"""

CHECKOUT_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Paddle Checkout (fake)</title></head>
<body>
<main>
  <h1>Paddle Checkout</h1>
  <p id="summary">Loading…</p>
  <button type="button" id="pay">Pay now</button>
  <p id="result" role="status"></p>
</main>
<script src="/checkout.js"></script>
</body></html>
"""

CHECKOUT_JS = r"""(function () {
  "use strict";
  var request = JSON.parse(decodeURIComponent(window.location.hash.slice(1)));
  var item = request.items[0];
  document.getElementById("summary").textContent =
    "Price " + item.priceId + " × " + (item.quantity || 1) + " (" + request.environment + ")";
  document.getElementById("pay").addEventListener("click", function () {
    fetch("/checkout/complete", { method: "POST", headers: { "Content-Type": "application/json" },
                                  body: JSON.stringify(request) })
      .then(function (r) { return r.json().then(function (body) { return [r.status, body]; }); })
      .then(function (answer) {
        if (answer[0] !== 200) {
          document.getElementById("result").textContent = "Payment failed: " + answer[1].error.detail;
          return;
        }
        document.getElementById("result").textContent = "Payment complete";
        window.parent.postMessage({ paddle: true, name: "checkout.completed",
                                    data: { transaction_id: answer[1].transaction_id } }, "*");
      });
  });
})();
"""
