"""Password hashing with the standard library's scrypt (salted, constant-time comparison)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# scrypt cost N=2^14, r=8, p=1: 16 MiB and about 30 ms per hash here. The parameters are stored
# in each hash, so they can be raised later (OWASP suggests N=2^17) without breaking old ones.
N, R, P = 2**14, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32
MAX_PASSWORD_CHARS = 1024
SCHEME = "scrypt"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=256 * 1024 * 1024,
        dklen=KEY_BYTES,
    )


def hash_password(password: str) -> str:
    """A self-describing hash: scrypt$n$r$p$salt$key."""
    if not password or len(password) > MAX_PASSWORD_CHARS:
        raise ValueError(f"a password has 1 to {MAX_PASSWORD_CHARS} characters")
    salt = secrets.token_bytes(SALT_BYTES)
    key = _derive(password, salt, N, R, P)
    return f"{SCHEME}${N}${R}${P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether password matches the stored hash; malformed hashes never match."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        params = int(n), int(r), int(p)
        expected = _unb64(key)
        salt_bytes = _unb64(salt)
    except ValueError:
        return False
    if scheme != SCHEME or not (
        2 <= params[0] <= 2**20 and 1 <= params[1] <= 32 and params[2] == 1
    ):
        return False
    if not password or len(password) > MAX_PASSWORD_CHARS:
        return False
    return hmac.compare_digest(_derive(password, salt_bytes, *params), expected)


# Hashed once so that a login for an unknown email costs the same as one for a known email.
_DUMMY: list[str] = []


def burn_time(password: str) -> None:
    """Spend one verification's time without a real user (no user enumeration by timing)."""
    if not _DUMMY:
        _DUMMY.append(hash_password(secrets.token_urlsafe(16)))
    verify_password(password or "x", _DUMMY[0])


def generate_password() -> str:
    """A random password for generated accounts (about 120 bits)."""
    return secrets.token_urlsafe(15)
