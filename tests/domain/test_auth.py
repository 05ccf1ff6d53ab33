from __future__ import annotations

import jwt
import pytest

from liveroom.domain import auth
from liveroom.domain.errors import LiveroomError

SECRET = "s" * 40


def test_a_minted_token_verifies_to_its_grants():
    tok = auth.mint(SECRET, room="thailand", role="host", user_id="exporter-1", name="Siam")
    identity = auth.verify(SECRET, tok)
    assert identity == auth.Identity("exporter-1", "Siam", "host", "thailand",
                                     has_token_name=True)
    assert identity.can("publish") and identity.can("pin") and not identity.can("rooms")
    assert identity.covers("thailand") and not identity.covers("chile")


def test_a_shop_backend_can_mint_tokens_with_plain_pyjwt():
    tok = jwt.encode({"iss": "liveroom", "sub": "shopper-9", "room": "italy", "role": "viewer",
                      "exp": 4102444800, "name": "Giulia"}, SECRET, algorithm="HS256")
    assert auth.verify(SECRET, tok).name == "Giulia"


@pytest.mark.parametrize("claims, code", [
    ({"sub": "u", "room": "r", "role": "viewer", "exp": 1}, "token_expired"),
    ({"sub": "u", "room": "r", "role": "emperor", "exp": 4102444800}, "invalid_token"),
    ({"sub": "u", "role": "viewer", "exp": 4102444800}, "invalid_token"),
    ({"sub": "u", "room": "r", "role": "viewer"}, "invalid_token"),
    ({"sub": 5, "room": "r", "role": "viewer", "exp": 4102444800}, "invalid_token"),
])
def test_bad_claims_are_refused_with_a_precise_code(claims, code):
    tok = jwt.encode({"iss": "liveroom", **claims}, SECRET, algorithm="HS256")
    with pytest.raises(LiveroomError) as refused:
        auth.verify(SECRET, tok)
    assert refused.value.code == code


def test_a_token_signed_with_another_secret_or_algorithm_is_refused():
    good = auth.mint(SECRET, room="r", role="viewer", user_id="u")
    for tok in (auth.mint("x" * 40, room="r", role="viewer", user_id="u"),
                jwt.encode({"iss": "liveroom", "sub": "u", "room": "r", "role": "admin",
                            "exp": 4102444800}, None, algorithm="none"),
                good[:-4] + "abcd"):
        with pytest.raises(LiveroomError) as refused:
            auth.verify(SECRET, tok)
        assert refused.value.code == "invalid_token"


def test_only_admins_may_hold_every_room_and_roles_are_checked_at_minting():
    with pytest.raises(ValueError):
        auth.mint(SECRET, room="*", role="host", user_id="u")
    with pytest.raises(ValueError):
        auth.mint(SECRET, room="r", role="king", user_id="u")
    assert auth.verify(SECRET, auth.mint(SECRET, room="*", role="admin", user_id="op")).covers(
        "any-room")


def test_guests_get_a_fresh_identity_and_a_token_to_keep_it():
    identity = auth.guest_identity("thailand")
    assert identity.guest and identity.role == "viewer" and identity.name is None
    kept = auth.verify(SECRET, auth.guest_token(SECRET, identity))
    assert (kept.user_id, kept.guest, kept.room) == (identity.user_id, True, "thailand")
    assert auth.guest_identity("thailand").user_id != identity.user_id
