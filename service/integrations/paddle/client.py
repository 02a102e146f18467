"""A thin client for Paddle Billing's API (``https://api.paddle.com``), on the one HTTP base.

Only what the product needs: a customer portal session, whose links let a DJ cancel a subscription
or change the card on Paddle's own pages. Bearer API key; errors arrive as ``{"error": {"type",
"code", "detail"}, "meta": {"request_id"}}``. Webhook signatures are checked in ``signatures.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import requests

from service.integrations.http import HttpClient
from service.integrations.paddle.errors import PADDLE_ERRORS, PaddleError
from service.integrations.paddle.types import PortalLinks

API_URLS = {
    "sandbox": "https://sandbox-api.paddle.com",
    "production": "https://api.paddle.com",
}


class PaddleClient(HttpClient):
    """Paddle Billing API with an API key (server side only: never sent to a browser)."""

    errors = PADDLE_ERRORS
    service_name = "Paddle"

    def __init__(self, base_url: str, api_key: str, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self.api_key = api_key

    def auth_headers(self) -> Mapping[str, str]:
        """Paddle takes the API key as a bearer token."""
        return {"Authorization": f"Bearer {self.api_key}"}

    def error_details(self, response: requests.Response) -> tuple[str, str | None]:
        """Paddle's ``error.detail`` and ``error.code``."""
        try:
            error = response.json().get("error") or {}
        except (ValueError, AttributeError):
            return super().error_details(response)
        return str(error.get("detail") or response.reason or "request failed"), error.get("code")

    def create_portal_session(
        self, customer_id: str, subscription_ids: Sequence[str] = ()
    ) -> PortalLinks:
        """Links into Paddle's customer portal for this customer (and deep links per subscription)."""
        response = self.request(
            "POST",
            f"/customers/{customer_id}/portal-sessions",
            json={"subscription_ids": list(subscription_ids)},
        )
        try:
            urls = response.json()["data"]["urls"]
            overview = urls["general"]["overview"]
        except (ValueError, KeyError, TypeError):
            raise PaddleError("Paddle answered a portal session without links") from None
        first = next(iter(urls.get("subscriptions") or []), {})
        return PortalLinks(
            overview=overview,
            cancel_subscription=first.get("cancel_subscription"),
            update_payment_method=first.get("update_subscription_payment_method"),
        )


def paddle_client_from_config(config: Mapping[str, Any]) -> PaddleClient | None:
    """The API client when ``PADDLE_API_KEY`` is set, else None (the portal link is then Paddle's
    own ``management_urls`` from the latest subscription event)."""
    if not config.get("PADDLE_API_KEY"):
        return None
    env = str(config.get("PADDLE_ENV") or "sandbox")
    base = config.get("PADDLE_API_URL") or API_URLS.get(env, API_URLS["sandbox"])
    return PaddleClient(
        str(base), str(config["PADDLE_API_KEY"]), timeout=(3.05, float(config["HTTP_TIMEOUT_S"]))
    )
