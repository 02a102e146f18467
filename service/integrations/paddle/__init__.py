"""Paddle Billing: webhook signatures (through the official SDK), payload types, the API client."""

from service.integrations.paddle.client import PaddleClient, paddle_client_from_config
from service.integrations.paddle.errors import (
    PaddleAuthError,
    PaddleError,
    PaddleNotFound,
    PaddleUnavailable,
)
from service.integrations.paddle.signatures import HEADER, sign, verify
from service.integrations.paddle.types import (
    ENVIRONMENTS,
    Adjustment,
    Event,
    LineItem,
    PayloadError,
    PortalLinks,
    Subscription,
    Transaction,
    parse_event,
)

__all__ = [
    "ENVIRONMENTS",
    "HEADER",
    "Adjustment",
    "Event",
    "LineItem",
    "PaddleAuthError",
    "PaddleClient",
    "PaddleError",
    "PaddleNotFound",
    "PaddleUnavailable",
    "PayloadError",
    "PortalLinks",
    "Subscription",
    "Transaction",
    "paddle_client_from_config",
    "parse_event",
    "sign",
    "verify",
]
