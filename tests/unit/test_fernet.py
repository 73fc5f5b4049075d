import os

import pytest

from stratus.identity.fernet import InvalidToken, KeyRepository
from stratus.identity.tokens import Payload, TokenNotFound


def test_setup_is_idempotent_and_rotation_keeps_old_tokens_valid(tmp_path):
    repo = KeyRepository(str(tmp_path / "keys"), max_active_keys=3)
    assert repo.setup() is True
    assert repo.setup() is False
    assert sorted(os.listdir(repo.path)) == ["0", "1"]
    t1 = repo.encrypt(b"one")
    assert repo.rotate() == [0, 1, 2]
    t2 = repo.encrypt(b"two")
    assert repo.decrypt(t1) == b"one" and repo.decrypt(t2) == b"two"
    # beyond max_active_keys the oldest secondary goes, and its tokens with it
    assert repo.rotate() == [0, 2, 3]
    with pytest.raises(InvalidToken):
        repo.decrypt(t1)
    assert repo.decrypt(t2) == b"two"


def test_staged_key_is_accepted_before_it_is_primary(tmp_path):
    a = KeyRepository(str(tmp_path / "k"))
    a.setup()
    staged = open(os.path.join(a.path, "0"), "rb").read()
    from cryptography.fernet import Fernet
    token = Fernet(staged).encrypt(b"from a node that already rotated").rstrip(b"=").decode()
    assert a.decrypt(token) == b"from a node that already rotated"


def test_garbage_is_invalid(tmp_path):
    repo = KeyRepository(str(tmp_path / "k"))
    repo.setup()
    for junk in ["", "abc", "gAAAA" + "x" * 100, "\u00e9\u00e9"]:
        with pytest.raises(InvalidToken):
            repo.decrypt(junk)


def test_payload_round_trip_for_every_scope():
    base = dict(user_id="u", methods=["password"], expires_at=10.5, issued_at=1.25,
                audit_ids=["a"])
    for scope in ({"project_id": "p"}, {"domain_id": "d"}, {"system": True}, {},
                  {"project_id": "p", "app_cred_id": "ac"}, {"project_id": "p", "trust_id": "t"}):
        p = Payload(**base, **scope)
        assert Payload.unpack(p.pack()) == p


def test_bad_payload_is_not_a_token():
    with pytest.raises(TokenNotFound):
        Payload.unpack(b"[2, 1]")
    with pytest.raises(TokenNotFound):
        Payload.unpack(b"not json")
