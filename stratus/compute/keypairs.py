"""Key pairs: validation of names and public keys, fingerprints and key
generation as nova does them, and lookup for server create."""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import string

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
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


def x509_fingerprint(pem: str) -> str:
    """SHA1 of a PEM X.509 certificate as colon-separated hex (nova's
    generate_x509_fingerprint, microversion 2.2 ``type: x509``); 400 if the
    text is not a PEM certificate."""
    try:
        cert = x509.load_pem_x509_certificate(pem.strip().encode("utf-8"))
        raw = binascii.hexlify(cert.fingerprint(hashes.SHA1())).decode("ascii")
    except (ValueError, TypeError, UnicodeError, binascii.Error) as exc:
        raise errors.BadRequest("Keypair data is invalid: failed to generate X509 "
                                f"fingerprint. Error message: {exc}") from None
    return ":".join(raw[i:i + 2] for i in range(0, len(raw), 2))


def generate_x509(user_id: str) -> tuple[str, str, str]:
    """A new RSA 2048 key and a self-signed certificate for ``user_id``, as
    nova's generate_winrm_x509_cert: (private key PEM, certificate PEM,
    fingerprint)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, user_id)])
    now = dt.datetime.now(dt.timezone.utc)
    upn = x509.OtherName(x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3"),
                         b"\x0c" + bytes([len(user_id) + 10]) + f"{user_id}@localhost".encode())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName([upn]), critical=False)
            .sign(key, hashes.SHA256()))
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return private, pem, x509_fingerprint(pem)


def get_keypair(session, user_id: str, name: str) -> m.KeyPair | None:
    return session.scalar(select(m.KeyPair).where(m.KeyPair.user_id == user_id,
                                                  m.KeyPair.name == name))
