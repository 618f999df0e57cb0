"""Sealing at rest: AES-GCM with keys derived from the deployment secret, which is never in Redis.

Whatever ties a person to an anonymous answer or thread while it is needed (dialog state of an
anonymous survey, a thread's sender) is sealed before it is written. A copy of the store's files
(AOF, RDB, `dvbot backup`) without the secret reveals nothing of it; deleting the sealed value
when it has served removes it for good, since nothing else holds it.

Each `purpose` gets its own key (HKDF-SHA256 from the secret), and the purpose and an optional
`bound` string (e.g. the Redis key) are authenticated as associated data, so a sealed value moved
to another key or used for another purpose fails to open instead of being misread.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12  # AES-GCM's standard nonce; random per value


class SealBroken(Exception):
    """A sealed value was altered, moved, or sealed under another secret or purpose."""


class Sealer:
    """Seals and opens small values for named purposes with one deployment secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the deployment secret must have at least 16 bytes")
        self._secret = secret
        self._ciphers: dict[str, AESGCM] = {}

    def _cipher(self, purpose: str) -> AESGCM:
        cipher = self._ciphers.get(purpose)
        if cipher is None:
            key = HKDF(algorithm=SHA256(), length=32, salt=b"dvbot-seal-v1",
                       info=purpose.encode()).derive(self._secret)
            cipher = self._ciphers[purpose] = AESGCM(key)
        return cipher

    def tag(self, purpose: str, text: str) -> str:
        """A stable pseudonym of `text` (keyed HMAC, hex): equal texts give equal tags, and
        without the secret a tag cannot be traced back by trying every chat id."""
        key = HKDF(algorithm=SHA256(), length=32, salt=b"dvbot-tag-v1",
                   info=purpose.encode()).derive(self._secret)
        return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:32]

    def seal(self, purpose: str, plaintext: bytes, bound: str = "") -> bytes:
        """Nonce + ciphertext of `plaintext`, authenticated with `purpose` and `bound`."""
        nonce = os.urandom(NONCE_BYTES)
        aad = f"{purpose}\x00{bound}".encode()
        return nonce + self._cipher(purpose).encrypt(nonce, plaintext, aad)

    def open(self, purpose: str, sealed: bytes, bound: str = "") -> bytes:
        """The plaintext of `seal(purpose, …, bound)`; SealBroken if anything differs."""
        if len(sealed) <= NONCE_BYTES:
            raise SealBroken("sealed value too short")
        aad = f"{purpose}\x00{bound}".encode()
        try:
            return self._cipher(purpose).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
        except InvalidTag as exc:
            raise SealBroken("sealed value does not open") from exc

    def seal_text(self, purpose: str, text: str, bound: str = "") -> str:
        """`seal` for text stores (the Redis client decodes responses): URL-safe base64."""
        return base64.urlsafe_b64encode(self.seal(purpose, text.encode(), bound)).decode()

    def open_text(self, purpose: str, sealed: str, bound: str = "") -> str:
        """The text of `seal_text(purpose, …, bound)`; SealBroken if anything differs."""
        try:
            raw = base64.urlsafe_b64decode(sealed.encode())
        except (ValueError, TypeError) as exc:
            raise SealBroken("sealed value is not base64") from exc
        return self.open(purpose, raw, bound).decode()
