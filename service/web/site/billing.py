"""Buying tokens: the Buy tokens page (packs, Paddle.js overlay checkout, every ledger movement) and
the subscription page (plan, status, next renewal, Paddle's customer portal to cancel).

The browser only opens Paddle's checkout for a price the page lists, with ``custom_data: {"user_id":
<the DJ's id>}``; it never says how many tokens anything is worth. Tokens are credited by the
``paddle`` job when Paddle's signed ``transaction.completed`` arrives, from Paddle's own line items
and the staff-kept ``token_packs`` (service/billing.py). Without ``PADDLE_CLIENT_TOKEN`` and
``PADDLE_WEBHOOK_SECRETS`` the purchase parts are hidden and the page says why.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from service import billing, ledger
from service.integrations.paddle import PaddleError, paddle_client_from_config
from service.web.security import CONTENT_SECURITY_POLICY
from service.web.site import bp, current_user_id, directus, login_required

log = logging.getLogger(__name__)

HISTORY_PAGE = 100
CHECKOUT_ORIGINS = {
    "sandbox": "https://sandbox-buy.paddle.com",
    "production": "https://buy.paddle.com",
}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def checkout_csp() -> str:
    """The site's policy, opened just enough for Paddle.js: its script, its checkout frame, its API.

    Only the pages that open a checkout send it. Paddle.js positions its overlay with inline styles.
    """
    config = current_app.config
    script = _origin(str(config["PADDLE_JS_URL"]))
    frames = config.get("PADDLE_CHECKOUT_ORIGINS") or CHECKOUT_ORIGINS.get(
        str(config.get("PADDLE_ENV")), CHECKOUT_ORIGINS["sandbox"]
    )
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    directives["script-src"] = f"'self' {script}"
    directives["style-src"] = f"'self' 'unsafe-inline' {script}"
    directives["frame-src"] = " ".join(str(frames).replace(",", " ").split())
    directives["connect-src"] = f"'self' {script} https://*.paddle.com"
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def _checkout_page(template: str, **context: Any) -> Any:
    reason = billing.unavailable_reason(current_app.config)
    config = current_app.config
    response = make_response(
        render_template(
            template,
            unavailable=reason,
            paddle={
                "js_url": config["PADDLE_JS_URL"],
                "client_token": config.get("PADDLE_CLIENT_TOKEN") or "",
                "environment": config.get("PADDLE_ENV") or "sandbox",
                "user_id": current_user_id(),
                "email": (g.get("user") or {}).get("email") or "",
            },
            **context,
        )
    )
    if reason is None:
        response.headers["Content-Security-Policy"] = checkout_csp()
    return response


@bp.get("/tokens")
@login_required
def tokens() -> Any:
    """Buy tokens: balance, the packs on sale, and every ledger movement with reason and reference."""
    client = directus()
    owner = current_user_id()
    page = max(1, request.args.get("page", 1, type=int) or 1)
    history = ledger.history(
        client, owner, limit=HISTORY_PAGE + 1, offset=(page - 1) * HISTORY_PAGE
    )
    balance = ledger.balance(client, owner)
    # The balance when checkout opened comes back in the success URL: a credit that lands before
    # this page renders is still told apart from "not yet".
    was = request.args.get("was", type=int)
    return _checkout_page(
        "billing/tokens.html",
        balance=balance,
        awaiting=balance if was is None else was,
        packs=billing.catalogue(client, "pack"),
        history=history[:HISTORY_PAGE],
        page=page,
        more=len(history) > HISTORY_PAGE,
        paid=request.args.get("paid") == "1",
    )


@bp.get("/tokens/balance.json")
@login_required
def balance_json() -> Any:
    """The DJ's balance, polled by the Buy tokens page while a payment is being credited."""
    return jsonify(balance=ledger.balance(directus(), current_user_id()))


@bp.get("/subscription")
@login_required
def subscription() -> Any:
    """The DJ's subscription (plan, status, next renewal, cancel) or the plans to subscribe to."""
    client = directus()
    rows = billing.subscriptions_of(client, current_user_id())
    current = next((r for r in rows if r.get("status") != "canceled"), None)
    return _checkout_page(
        "billing/subscription.html",
        current=current,
        past=[r for r in rows if r is not current],
        plans=billing.catalogue(client, "plan"),
        portal=bool(current and (current.get("paddle_customer_id") or current.get("cancel_url"))),
    )


@bp.post("/subscription/portal")
@login_required
def subscription_portal() -> Any:
    """Send the DJ to Paddle's customer portal for their subscription (to cancel or change the card)."""
    client = directus()
    rows = billing.subscriptions_of(client, current_user_id())
    current = next((r for r in rows if r.get("status") != "canceled"), None)
    if current is None:
        abort(404)
    paddle = paddle_client_from_config(current_app.config)
    target = None
    if paddle is not None and current.get("paddle_customer_id"):
        try:
            links = paddle.create_portal_session(
                current["paddle_customer_id"], [current["paddle_subscription_id"]]
            )
            target = links.cancel_subscription or links.overview
        except PaddleError as exc:
            log.warning("no portal session from Paddle: %s", exc)
    target = target or current.get("cancel_url")
    # Links come from Paddle only (its API, or its signed subscription events), never from the form.
    if not target or not str(target).startswith(("https://", "http://")):
        flash(
            "Paddle's customer portal cannot be reached just now; try again in a minute.", "error"
        )
        return redirect(url_for("site.subscription"), code=303)
    return redirect(str(target), code=303)
