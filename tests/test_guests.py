"""Guests' signed identities (liveroom/guests.py)."""

from __future__ import annotations

from liveroom.domain import auth
from liveroom.guests import Guests

from .helpers import SECRET, token


def test_an_address_has_one_guest_and_an_ipv6_client_its_whole_64():
    guests = Guests(SECRET)
    assert guests.address_user("192.0.2.7") == guests.address_user("192.0.2.7")
    assert guests.address_user("192.0.2.7") != guests.address_user("192.0.2.8")
    assert guests.address_user("2001:db8:1:2::1") == guests.address_user("2001:db8:1:2:ffff::9")
    assert guests.address_user("2001:db8:1:2::1") != guests.address_user("2001:db8:1:3::1")
    assert Guests("x" * 40).address_user("192.0.2.7") != guests.address_user("192.0.2.7")


def test_a_guest_token_travels_to_another_room_with_its_user_and_name():
    guests = Guests(SECRET)
    mine = guests.token(auth.Identity("guest-1", "Ann", "viewer", "thailand", guest=True))
    assert guests.for_room(mine, "thailand") == mine
    elsewhere = auth.verify(SECRET, guests.for_room(mine, "chile"))
    assert (elsewhere.user_id, elsewhere.name, elsewhere.room, elsewhere.guest) == (
        "guest-1", "Ann", "chile", True)


def test_only_a_valid_guest_token_is_a_guest():
    guests = Guests(SECRET)
    assert guests.for_room(token("thailand", "moderator"), "thailand") is None
    assert guests.for_room(token("thailand"), "thailand") is None  # a signed-in viewer
    assert guests.for_room("not a token", "thailand") is None
    assert guests.for_room(None, "thailand") is None
    forged = Guests("y" * 40).token(auth.Identity("guest-1", None, "viewer", "thailand",
                                                  guest=True))
    assert guests.for_room(forged, "thailand") is None
