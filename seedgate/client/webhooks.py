"""Standard Webhooks signature verification for seedgate's callbacks (and the OpenAI-style endpoints')."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from .errors import WebhookVerificationError


def verify_webhook(
    payload: bytes | str, headers: Mapping[str, str], secret: str, tolerance_s: float = 300
) -> dict[str, Any]:
    """Check `webhook-signature` against the `whsec_` secret and return the parsed body.

    Raises `WebhookVerificationError` for missing headers, a timestamp outside `tolerance_s` (replays), a
    signature that does not match (a tampered body, another secret), or a body that is not a JSON object.
    """
    body = payload.encode() if isinstance(payload, str) else bytes(payload)
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        message_id = lowered["webhook-id"]
        timestamp_text = lowered["webhook-timestamp"]
        signatures = lowered["webhook-signature"]
    except KeyError as missing:
        raise WebhookVerificationError(f"missing header {missing.args[0]}") from None
    try:
        timestamp = int(timestamp_text)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from None
    if abs(time.time() - timestamp) > tolerance_s:
        raise WebhookVerificationError("webhook-timestamp is too far from now")
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except binascii.Error:
        raise WebhookVerificationError("the secret is not a whsec_ base64 secret") from None
    expected = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    # The header may carry several space-separated signatures (during secret rotation); one match suffices.
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        try:
            given = base64.b64decode(value, validate=True)
        except binascii.Error:
            continue
        if version == "v1" and hmac.compare_digest(given, expected):
            try:
                event = json.loads(body)
            except ValueError:
                raise WebhookVerificationError("the body is not JSON") from None
            if not isinstance(event, dict):
                raise WebhookVerificationError("the body is not a JSON object")
            return event
    raise WebhookVerificationError("no matching signature")
