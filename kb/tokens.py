"""Signed, unguessable unsubscribe tokens (itsdangerous): subscriber id + a per-subscriber nonce."""
from __future__ import annotations

from collections.abc import Sequence

from itsdangerous import BadData, URLSafeSerializer

# The namespace of `Datasette.sign/unsign`: `insightkb serve` checks tokens with `datasette.unsign`.
UNSUBSCRIBE_NAMESPACE = "insightkb.unsubscribe.v1"
_SALT = UNSUBSCRIBE_NAMESPACE


def make_unsubscribe_token(secret: str, subscriber_id: int, nonce: str) -> str:
    """A URL-safe token naming one subscriber, signed with the installation secret."""
    if not secret:
        raise ValueError("a secret is needed to sign unsubscribe tokens")
    return URLSafeSerializer(secret, salt=_SALT).dumps([subscriber_id, nonce])


def read_unsubscribe_token(secrets: str | Sequence[str], token: str) -> tuple[int, str] | None:
    """(subscriber_id, nonce) if `token` was signed with one of `secrets`, else None."""
    keys = [secrets] if isinstance(secrets, str) else [s for s in secrets if s]
    if not keys or not token:
        return None
    try:
        value = URLSafeSerializer(keys, salt=_SALT).loads(token)
    except BadData:
        return None
    return token_value(value)


def token_value(value: object) -> tuple[int, str] | None:
    """(subscriber_id, nonce) from a token's unsigned payload, or None when it has another shape."""
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not isinstance(value[0], int)
        or not isinstance(value[1], str)
    ):
        return None
    return value[0], value[1]
