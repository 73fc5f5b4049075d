"""Key pairs: validation of names and public keys, fingerprints and key
generation as nova does them, and lookup for server create."""
from __future__ import annotations

import base64
import hashlib
import string

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from stratus.common import errors
from stratus.db.models import compute as m

SAFE_CHARS = set("_- " + string.digits + string.ascii_letters)


def validate_name(name) -> str:
    """Nova (2.1): 1-255 characters from letters, digits, '_', '-' and space."""
    if not isinstance(name, str) or not 1 <= len(name) <= 255:
        raise errors.BadRequest("Keypair data is invalid: Keypair name must be string and "
                                "between 1 and 255 characters long")
    if any(ch not in SAFE_CHARS for ch in name):
        raise errors.BadRequest("Keypair data is invalid: Keypair name contains unsafe "
                                "characters")
    return name


def fingerprint(public_key: str) -> str:
    """MD5 of the key blob as colon-separated hex (nova's generate_fingerprint);
    400 if the text is not an OpenSSH public key."""
    try:
        key = serialization.load_ssh_public_key(public_key.strip().encode("utf-8"))
    except (ValueError, TypeError, UnicodeError, UnsupportedAlgorithm):
        raise errors.BadRequest("Keypair data is invalid: failed to generate fingerprint"
                                ) from None
    blob = key.public_bytes(serialization.Encoding.OpenSSH,
                            serialization.PublicFormat.OpenSSH).split()[1]
    digest = hashlib.md5(base64.b64decode(blob)).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def generate() -> tuple[str, str, str]:
    """A new RSA 2048 key pair: (private key PEM, OpenSSH public key, fingerprint)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    public += " Generated-by-Nova"
    return private, public, fingerprint(public)


def get_keypair(session, user_id: str, name: str) -> m.KeyPair | None:
    return session.scalar(select(m.KeyPair).where(m.KeyPair.user_id == user_id,
                                                  m.KeyPair.name == name))
