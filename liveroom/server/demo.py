"""Demo rooms: one exclusive live room per partner country, each with a few products.

`seed` adds the rooms that are missing and leaves existing ones alone, so restarting with --demo,
or starting several instances with it, never duplicates or overwrites anything.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..config import Settings
from ..domain import auth
from ..domain.errors import LiveroomError
from ..domain.models import product_from_input, room_from_input
from ..engine import Store
from ..files import private_dir, replace_private

log = logging.getLogger(__name__)

DEMO_TOKEN_TTL = 7 * 86400


def _product(pid: str, name: str, price: str, currency: str, stock: int, origin: str,
              description: str) -> dict:
    return {
        "id": pid, "name": name, "price": price, "currency": currency, "stock": stock,
        "origin": origin, "description": description, "image": f"/static/products/{pid}.svg",
    }


DEMO_ROOMS = [
    (
        {"id": "thailand", "title": "Thailand exclusive live room", "country": "Thailand",
         "country_code": "TH", "host_name": "Siam Orchard Exports",
         "description": "Fresh from Chanthaburi and Chiang Mai: tropical fruit, rice and silk."},
        [
            _product("monthong-durian", "Monthong durian", "890.00", "THB", 200, "Thailand",
                     "Golden, creamy Monthong durian from Chanthaburi orchards, picked ripe "
                     "and shipped chilled."),
            _product("nam-dok-mai-mango", "Nam Dok Mai mangoes, 2 kg", "350.00", "THB", 500,
                     "Thailand", "Sweet, fibre-free mangoes, the variety Thais eat with sticky "
                     "rice."),
            _product("hom-mali-rice", "Hom Mali jasmine rice, 5 kg", "420.00", "THB", 800,
                     "Thailand", "New-crop fragrant rice from the Thung Kula Rong Hai plain."),
            _product("thai-silk-scarf", "Hand-woven Thai silk scarf", "1290.00", "THB", 60,
                     "Thailand", "Mudmee silk from Surin, dyed and woven by hand."),
        ],
    ),
    (
        {"id": "chile", "title": "Chile exclusive live room", "country": "Chile",
         "country_code": "CL", "host_name": "Valle Central Foods",
         "description": "Cherries, wine and salmon from the length of Chile."},
        [
            _product("chile-cherries", "Chilean cherries, 2.5 kg box", "24990", "CLP", 300,
                     "Chile", "Dark, sweet cherries from O'Higgins, packed the day they are "
                     "picked."),
            _product("carmenere-reserva", "Colchagua Carmenère Reserva", "12990", "CLP", 240,
                     "Chile", "Chile's own grape: soft tannins, red fruit and a hint of pepper."),
            _product("patagonian-salmon", "Patagonian salmon fillet, 1 kg", "15990", "CLP", 120,
                     "Chile", "Skin-on fillet from the cold fjords of Aysén, frozen at sea."),
        ],
    ),
    (
        {"id": "new-zealand", "title": "New Zealand exclusive live room",
         "country": "New Zealand", "country_code": "NZ", "host_name": "Kiwi Pantry Co.",
         "description": "Honey, kiwifruit and merino from Aotearoa."},
        [
            _product("manuka-honey", "Manuka honey UMF 15+, 250 g", "64.90", "NZD", 150,
                     "New Zealand", "Certified monofloral manuka honey from the East Cape."),
            _product("sungold-kiwifruit", "SunGold kiwifruit, 3 kg", "29.90", "NZD", 400,
                     "New Zealand", "Golden-fleshed kiwifruit from the Bay of Plenty."),
            _product("merino-beanie", "Merino wool beanie", "49.00", "NZD", 90, "New Zealand",
                     "Fine South Island merino, knitted in Christchurch."),
        ],
    ),
    (
        {"id": "italy", "title": "Italy exclusive live room", "country": "Italy",
         "country_code": "IT", "host_name": "Bottega Italiana",
         "description": "Cheese, oil and coffee from Italian producers."},
        [
            _product("parmigiano-reggiano", "Parmigiano Reggiano 24 months, 1 kg", "32.50",
                     "EUR", 180, "Italy", "Aged two years in the hills of Reggio Emilia."),
            _product("puglia-olive-oil", "Extra virgin olive oil, Puglia, 1 l", "18.90", "EUR",
                     260, "Italy", "Cold-pressed Coratina olives, harvest of this autumn."),
            _product("espresso-beans", "Espresso roast coffee beans, 1 kg", "24.00", "EUR", 220,
                     "Italy", "A Neapolitan dark roast for moka pot and espresso."),
        ],
    ),
    (
        {"id": "russia", "title": "Russia exclusive live room", "country": "Russia",
         "country_code": "RU", "host_name": "Taiga Trading",
         "description": "Chocolate, pine nuts and honey from across Russia."},
        [
            _product("milk-chocolate", "Milk chocolate assortment, 6 bars", "890.00", "RUB",
                     350, "Russia", "Classic Moscow milk chocolate with a creamy wrapper."),
            _product("siberian-pine-nuts", "Siberian pine nuts, 500 g", "1490.00", "RUB", 200,
                     "Russia", "Hand-gathered cedar pine nuts from the Altai taiga."),
            _product("buckwheat-honey", "Bashkir buckwheat honey, 1 kg", "1190.00", "RUB", 160,
                     "Russia", "Dark, malty honey from the meadows of Bashkortostan."),
        ],
    ),
    (
        {"id": "vietnam", "title": "Vietnam exclusive live room", "country": "Vietnam",
         "country_code": "VN", "host_name": "Mekong Harvest",
         "description": "Coffee, fruit and nuts from the Central Highlands to the Mekong."},
        [
            _product("robusta-coffee", "Buôn Ma Thuột robusta coffee, 500 g", "189000", "VND",
                     400, "Vietnam", "Bold robusta from Đắk Lắk, roasted for phin filters."),
            _product("dragon-fruit", "Bình Thuận dragon fruit, 3 kg", "145000", "VND", 300,
                     "Vietnam", "White-fleshed pitaya, crisp and lightly sweet."),
            _product("roasted-cashews", "Roasted cashews, Bình Phước, 500 g", "165000", "VND",
                     350, "Vietnam", "Salted whole cashews, roasted in their skins."),
        ],
    ),
]


async def seed(store: Store) -> list[str]:
    """Create the demo rooms that do not exist yet; return the ids created."""
    created = []
    for room_input, products in DEMO_ROOMS:
        record = room_from_input(room_input)
        try:
            await store.create_room(record)
        except LiveroomError as exc:
            if exc.code == "conflict":
                continue  # already there (an earlier run, or another instance)
            raise
        for product in products:
            await store.put_product(record["id"], product_from_input(product), create=True)
        await store.pin(record["id"], products[0]["id"], "demo")
        created.append(record["id"])
    if created:
        log.info("created demo rooms: %s", ", ".join(created))
    return created


def demo_links(settings: Settings) -> str:
    """Viewer, shopper, host and moderator links for every demo room, ready to paste in a
    browser. A guest viewer watches and chats; buying needs a signed-in viewer, which the
    shopper link stands in for (as a shop would link its signed-in customers)."""
    secret = settings.signing_secret
    base = settings.base_url
    lines = ["Demo rooms (shopper, host and moderator links carry tokens valid for 7 days):"]
    for room_input, _products in DEMO_ROOMS:
        room = room_input["id"]
        host = auth.mint(secret, room=room, role="host", user_id=f"host-{room}",
                         name=room_input["host_name"], ttl=DEMO_TOKEN_TTL)
        moderator = auth.mint(secret, room=room, role="moderator",
                              user_id=f"mod-{room}", name="Moderator", ttl=DEMO_TOKEN_TTL)
        shopper = auth.mint(secret, room=room, role="viewer",
                            user_id=f"shopper-{room}", name="Demo shopper", ttl=DEMO_TOKEN_TTL)
        lines += [
            f"  {room_input['country']}",
            f"    viewer     {base}/rooms/{room}",
            f"    shopper    {base}/rooms/{room}?token={shopper}",
            f"    host       {base}/studio/{room}?token={host}",
            f"    moderator  {base}/console/{room}?token={moderator}",
        ]
    return "\n".join(lines)


def demo_viewer_links(settings: Settings) -> list[str]:
    """The demo rooms' public links: nothing in them grants anything."""
    return [f"demo room {room['country']}: {settings.base_url}/rooms/{room['id']}"
            for room, _products in DEMO_ROOMS]


def write_demo_links(settings: Settings) -> Path:
    """Put the links with staff tokens in a file only this user reads, for a server whose output
    goes to a log collector: tokens in logs are read by everyone who reads the logs, and kept
    as long as they are."""
    path = private_dir(settings.data_dir) / "demo-links.txt"
    replace_private(path, demo_links(settings) + "\n")
    return path
