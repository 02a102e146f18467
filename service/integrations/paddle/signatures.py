"""The ``Paddle-Signature`` header: made as Paddle makes it, checked with Paddle's own SDK.

``Paddle-Signature: ts=<unix seconds>;h1=<hex>`` where ``h1`` is HMAC-SHA256 of ``"<ts>:<raw body>"``
with the notification destination's secret; while a secret is being rotated Paddle may send one
``h1`` per secret, and any match passes. :func:`verify` wraps the SDK's ``Verifier``: the tolerance is
set explicitly, every exception it raises (bad header, no matching secret, a body that is not UTF-8)
means "invalid", and the timestamp window is checked here as well, because the SDK skips its own
check whenever a ``TEST_MODE`` environment variable is set.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from paddle_billing.Logger import get_logger
from paddle_billing.Notifications import Secret, Verifier

HEADER = "Paddle-Signature"

# The SDK logs every verification through "paddle_billing" at INFO (an older version logged the
# signatures themselves at DEBUG). Its get_logger() sets the level once, on first use: call it now,
# then keep the logger at WARNING whatever the root level is.
get_logger().setLevel(logging.WARNING)


def sign(secrets: str | Sequence[str], body: bytes, timestamp: int | None = None) -> str:
    """The header Paddle would send for ``body`` (one ``h1`` per secret), e.g. for a fake Paddle."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    macs = [
        hmac.new(k.encode(), f"{ts}:".encode() + body, hashlib.sha256).hexdigest() for k in keys
    ]
    return ";".join([f"ts={ts}", *(f"h1={mac}" for mac in macs)])


@dataclass(frozen=True)
class _Delivery:
    """What the SDK's Verifier reads from a request: its headers and raw body."""

    headers: Mapping[str, str]
    body: bytes


def _timestamp(header: str) -> int | None:
    for part in header.split(";"):
        key, _, value = part.partition("=")
        if key.strip() == "ts" and value.strip().isdigit() and len(value.strip()) <= 12:
            return int(value.strip())
    return None


def verify(
    header: str | None,
    body: bytes,
    secrets: Sequence[str],
    tolerance_s: int,
    *,
    now: float | None = None,
) -> str | None:
    """Why the delivery is not Paddle's (a short reason for logs and metrics), or None when it is."""
    if not secrets:
        return "no webhook secret configured"
    if not header:
        return "missing Paddle-Signature header"
    ts = _timestamp(header)
    if ts is None:
        return "malformed Paddle-Signature header"
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        return "timestamp outside the accepted window"
    verifier = Verifier(maximum_variance=tolerance_s)
    try:
        ok = verifier.verify(_Delivery({HEADER: header}, body), [Secret(s) for s in secrets])
    except ConnectionRefusedError:
        return "signature does not match"
    except Exception:  # the SDK raises ValueError, UnicodeDecodeError…: all invalid
        return "malformed Paddle-Signature header or body"
    return None if ok else "signature does not match"
