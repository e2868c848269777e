"""Password hashing and JWT sessions."""

from __future__ import annotations

import base64
import json
import time

import bcrypt
import pytest
from jose import jwt

from services.accounts.security import decode_token, hash_password, issue_token, verify_password

SECRET = "unit-test-secret-0123456789-abcdefghijklmnop"


@pytest.mark.parametrize(
    "password",
    ["correct horse battery staple", "x" * 100, "pässwörd-日本語-🔑" * 5, "a" * 72 + "b"],
)
def test_hash_verifies_exactly_as_typed(password: str) -> None:
    hashed = hash_password(password, rounds=4)
    assert verify_password(password, hashed, rounds=4)[0]
    assert not verify_password(password + "!", hashed, rounds=4)[0]


def test_long_passwords_differing_after_72_bytes_are_different() -> None:
    hashed = hash_password("a" * 72 + "first", rounds=4)
    assert not verify_password("a" * 72 + "second", hashed, rounds=4)[0]


def test_legacy_plain_bcrypt_hash_verifies_and_is_flagged_for_upgrade() -> None:
    legacy = bcrypt.hashpw(b"old-system-password", bcrypt.gensalt(4)).decode()
    ok, new_hash = verify_password("old-system-password", legacy, rounds=4)
    assert ok
    assert new_hash is not None and new_hash.startswith("$bcrypt-sha256$")
    assert verify_password("old-system-password", new_hash, rounds=4)[0]


def test_garbage_hash_is_rejected_not_raised() -> None:
    assert verify_password("whatever", "not-a-hash", rounds=4) == (False, None)


def test_token_round_trip() -> None:
    claims = decode_token(issue_token(7, 3, SECRET, 5), SECRET)
    assert claims is not None and claims.user_id == 7 and claims.version == 3


def test_expired_token_rejected() -> None:
    now = int(time.time())
    token = jwt.encode({"sub": "1", "ver": 0, "iat": now - 100, "exp": now - 10}, SECRET, "HS256")
    assert decode_token(token, SECRET) is None


def test_token_without_exp_rejected() -> None:
    token = jwt.encode({"sub": "1", "ver": 0, "iat": int(time.time())}, SECRET, "HS256")
    assert decode_token(token, SECRET) is None


def test_tampered_token_rejected() -> None:
    header, payload, signature = issue_token(1, 0, SECRET, 5).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "2"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert decode_token(f"{header}.{forged}.{signature}", SECRET) is None


def test_wrong_secret_rejected() -> None:
    assert decode_token(issue_token(1, 0, SECRET, 5), SECRET + "x") is None


def _unsigned(alg: str) -> str:
    def b64(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"sub": "1", "ver": 0, "iat": now, "exp": now + 60}
    return f"{b64({'alg': alg, 'typ': 'JWT'})}.{b64(claims)}."


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_rejected(alg: str) -> None:
    assert decode_token(_unsigned(alg), SECRET) is None


def test_other_algorithm_rejected() -> None:
    now = int(time.time())
    token = jwt.encode({"sub": "1", "ver": 0, "iat": now, "exp": now + 60}, SECRET, "HS512")
    assert decode_token(token, SECRET) is None


def test_short_secret_refused() -> None:
    with pytest.raises(ValueError):
        issue_token(1, 0, "short", 5)
