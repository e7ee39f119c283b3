"""Recipients' secrets: password hashes, web session tokens, and signed unsubscribe tokens that need no login.

Passwords are hashed with scrypt (standard library) and a random salt. Unsubscribe tokens are an
HMAC of the purpose and the recipient's id under a key kept in `$PODSIFT_HOME/secret.key` (created on first use,
readable by its owner only), so a link unsubscribes exactly the person it was sent to.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    """A salted scrypt hash, as text that `verify_password` reads."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_password(password: str, stored: str | None) -> bool:
    """Whether `password` matches a hash from `hash_password`, in constant time. With no usable
    hash (an unknown email, a person without a password) it still runs scrypt, so that the time a
    login takes does not tell which emails have an account."""
    kind, _, rest = (stored or "").partition("$")
    salt, _, digest = rest.partition("$")
    try:
        usable = kind == "scrypt" and bool(salt) and bool(digest)
        salt_bytes, expected = (base64.b64decode(salt), base64.b64decode(digest)) if usable else (b"", b"")
    except ValueError:
        usable, salt_bytes, expected = False, b"", b""
    candidate = hashlib.scrypt(password.encode(), salt=salt_bytes or bytes(16), dklen=32, **SCRYPT)
    return usable and hmac.compare_digest(candidate, expected)


def session_token() -> tuple[str, str]:
    """A new web session: the token for the cookie, and the hash the store keeps instead of it."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    """What the store keeps of a session token: a stolen copy of the store opens no session."""
    return hashlib.sha256(token.encode()).hexdigest()


def secret_key(home: Path) -> bytes:
    """The install's signing key, made on first use and kept with owner-only permissions."""
    path = home / "secret.key"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(32))
    return path.read_bytes()


def token(key: bytes, purpose: str, recipient_id: int) -> str:
    """A token proving a link was made for this recipient and this purpose ("unsubscribe", "feed")."""
    mac = hmac.new(key, f"{purpose}:{recipient_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


def check_token(key: bytes, purpose: str, recipient_id: int, candidate: str) -> bool:
    """Whether `candidate` is `token(key, purpose, recipient_id)`, compared in constant time."""
    return hmac.compare_digest(token(key, purpose, recipient_id), candidate)
