"""Atlas's two ways in: HTTP Digest with API keys, and service-account OAuth (client credentials).

Digest follows RFC 7616 with MD5 and ``qop=auth``, as Atlas's API gateway does. Nonces are
stateless (a time and an HMAC of it), valid for five minutes, so a restarted emulator still
accepts the ones it issued. OAuth access tokens live in the state database with their expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import time
from typing import Any

from .httpcore import ApiError, Request

REALM = "MMS Public API"
NONCE_TTL = 300.0
_NONCE_KEY = os.urandom(16)


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - Digest auth is defined with MD5


def new_nonce(now: float | None = None) -> str:
    stamp = f"{time.time() if now is None else now:.3f}"
    mac = hmac.new(_NONCE_KEY, stamp.encode(), hashlib.sha256).hexdigest()[:24]
    return base64.b64encode(f"{stamp}:{mac}".encode()).decode()


def nonce_fresh(nonce: str) -> bool:
    try:
        stamp, _, mac = base64.b64decode(nonce).decode().partition(":")
        expected = hmac.new(_NONCE_KEY, stamp.encode(), hashlib.sha256).hexdigest()[:24]
        return hmac.compare_digest(mac, expected) and time.time() - float(stamp) < NONCE_TTL
    except (ValueError, UnicodeDecodeError):
        return False


def challenge(stale: bool = False) -> dict[str, str]:
    value = (f'Digest realm="{REALM}", domain="", nonce="{new_nonce()}", algorithm=MD5, qop="auth", '
             f'stale={"true" if stale else "false"}')
    return {"WWW-Authenticate": value}


def unauthorized(stale: bool = False, detail: str = "You are not authorized for this resource.") -> ApiError:
    return ApiError(401, "UNAUTHORIZED", detail, challenge(stale))


def parse_digest(header: str) -> dict[str, str]:
    return {key.lower(): quoted if quoted else plain
            for key, quoted, plain in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', header)}


def check_digest(request: Request, header: str, private_keys: dict[str, str]) -> str:
    fields = parse_digest(header)
    username = fields.get("username", "")
    password = private_keys.get(username)
    if password is None or fields.get("realm") != REALM:
        raise unauthorized()
    if not nonce_fresh(fields.get("nonce", "")):
        raise unauthorized(stale=True)
    ha1 = md5(f"{username}:{REALM}:{password}")
    ha2 = md5(f"{request.method}:{fields.get('uri', '')}")
    if fields.get("qop"):
        expected = md5(f"{ha1}:{fields['nonce']}:{fields.get('nc', '')}:{fields.get('cnonce', '')}:{fields['qop']}:{ha2}")
    else:
        expected = md5(f"{ha1}:{fields['nonce']}:{ha2}")
    if not hmac.compare_digest(expected, fields.get("response", "")):
        raise unauthorized()
    return f"apikey:{username}"


def basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value.strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


def new_access_token() -> str:
    return "eyJ" + secrets.token_urlsafe(40)


def token_record(client_id: str, ttl: int) -> dict[str, Any]:
    now = time.time()
    return {"id": new_access_token(), "clientId": client_id, "issuedAt": now, "expiresAt": now + ttl}
