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


# The demo in the pages' languages: every room's title, the Thai room's text and products.
ROOM_TRANSLATIONS = {
    "thailand": {
        "zh": {"title": "泰国专属直播间",
               "description": "来自尖竹汶和清迈的新鲜热带水果、大米和丝绸。"},
        "th": {"title": "ห้องไลฟ์พิเศษประเทศไทย",
               "description": "ส่งตรงจากจันทบุรีและเชียงใหม่: ผลไม้เมืองร้อน ข้าว และผ้าไหม"},
        "es": {"title": "Sala en directo exclusiva de Tailandia",
               "description": "Recién llegados de Chanthaburi y Chiang Mai: fruta tropical, "
                               "arroz y seda."},
        "it": {"title": "Stanza in diretta esclusiva della Thailandia",
               "description": "Freschi da Chanthaburi e Chiang Mai: frutta tropicale, riso e "
                               "seta."},
        "ru": {"title": "Эксклюзивный эфир из Таиланда",
               "description": "Прямо из Чантхабури и Чиангмая: тропические фрукты, рис и шёлк."},
        "vi": {"title": "Phòng live độc quyền Thái Lan",
               "description": "Tươi mới từ Chanthaburi và Chiang Mai: trái cây nhiệt đới, gạo và"
                               " lụa."},
    },
    "chile": {
        "zh": {"title": "智利专属直播间"},
        "th": {"title": "ห้องไลฟ์พิเศษชิลี"},
        "es": {"title": "Sala en directo exclusiva de Chile"},
        "it": {"title": "Stanza in diretta esclusiva del Cile"},
        "ru": {"title": "Эксклюзивный эфир из Чили"},
        "vi": {"title": "Phòng live độc quyền Chile"},
    },
    "new-zealand": {
        "zh": {"title": "新西兰专属直播间"},
        "th": {"title": "ห้องไลฟ์พิเศษนิวซีแลนด์"},
        "es": {"title": "Sala en directo exclusiva de Nueva Zelanda"},
        "it": {"title": "Stanza in diretta esclusiva della Nuova Zelanda"},
        "ru": {"title": "Эксклюзивный эфир из Новой Зеландии"},
        "vi": {"title": "Phòng live độc quyền New Zealand"},
    },
    "italy": {
        "zh": {"title": "意大利专属直播间"},
        "th": {"title": "ห้องไลฟ์พิเศษอิตาลี"},
        "es": {"title": "Sala en directo exclusiva de Italia"},
        "it": {"title": "Stanza in diretta esclusiva dell'Italia"},
        "ru": {"title": "Эксклюзивный эфир из Италии"},
        "vi": {"title": "Phòng live độc quyền Ý"},
    },
    "russia": {
        "zh": {"title": "俄罗斯专属直播间"},
        "th": {"title": "ห้องไลฟ์พิเศษรัสเซีย"},
        "es": {"title": "Sala en directo exclusiva de Rusia"},
        "it": {"title": "Stanza in diretta esclusiva della Russia"},
        "ru": {"title": "Эксклюзивный эфир из России"},
        "vi": {"title": "Phòng live độc quyền Nga"},
    },
    "vietnam": {
        "zh": {"title": "越南专属直播间"},
        "th": {"title": "ห้องไลฟ์พิเศษเวียดนาม"},
        "es": {"title": "Sala en directo exclusiva de Vietnam"},
        "it": {"title": "Stanza in diretta esclusiva del Vietnam"},
        "ru": {"title": "Эксклюзивный эфир из Вьетнама"},
        "vi": {"title": "Phòng live độc quyền Việt Nam"},
    },
}
PRODUCT_TRANSLATIONS = {
    "monthong-durian": {
        "zh": {"name": "金枕头榴莲",
               "description": "尖竹汶果园的金黄绵密金枕头榴莲，熟透采摘，冷链发货。"},
        "th": {"name": "ทุเรียนหมอนทอง",
               "description": "ทุเรียนหมอนทองเนื้อเหลืองนุ่มจากสวนจันทบุรี "
                               "เก็บตอนสุกพอดีและส่งแบบแช่เย็น"},
        "es": {"name": "Durián Monthong",
               "description": "Durián Monthong dorado y cremoso de los huertos de Chanthaburi, "
                               "cosechado maduro y enviado refrigerado."},
        "it": {"name": "Durian Monthong",
               "description": "Durian Monthong dorato e cremoso dai frutteti di Chanthaburi, "
                               "raccolto maturo e spedito refrigerato."},
        "ru": {"name": "Дуриан Монтонг",
               "description": "Золотистый сливочный дуриан Монтонг из садов Чантхабури, собран "
                               "спелым и отправлен охлаждённым."},
        "vi": {"name": "Sầu riêng Monthong",
               "description": "Sầu riêng Monthong vàng béo từ vườn Chanthaburi, hái chín và giao"
                               " lạnh."},
    },
    "nam-dok-mai-mango": {
        "zh": {"name": "南多迈芒果，2 公斤",
               "description": "香甜无丝的芒果，泰国人配糯米吃的品种。"},
        "th": {"name": "มะม่วงน้ำดอกไม้ 2 กก.",
               "description": "มะม่วงหวานไม่มีเสี้ยน พันธุ์ที่คนไทยกินกับข้าวเหนียว"},
        "es": {"name": "Mangos Nam Dok Mai, 2 kg",
               "description": "Mangos dulces y sin fibras, la variedad que los tailandeses comen"
                               " con arroz glutinoso."},
        "it": {"name": "Mango Nam Dok Mai, 2 kg",
               "description": "Mango dolci e senza fibre, la varietà che i thailandesi mangiano "
                               "con il riso glutinoso."},
        "ru": {"name": "Манго Нам Док Май, 2 кг",
               "description": "Сладкие манго без волокон — сорт, который тайцы едят с клейким "
                               "рисом."},
        "vi": {"name": "Xoài Nam Dok Mai, 2 kg",
               "description": "Xoài ngọt không xơ, giống người Thái ăn với xôi."},
    },
    "hom-mali-rice": {
        "zh": {"name": "泰国茉莉香米，5 公斤",
               "description": "来自通古拉农海平原的当季香米。"},
        "th": {"name": "ข้าวหอมมะลิ 5 กก.",
               "description": "ข้าวหอมมะลิใหม่จากทุ่งกุลาร้องไห้"},
        "es": {"name": "Arroz jazmín Hom Mali, 5 kg",
               "description": "Arroz aromático de nueva cosecha de la llanura de Thung Kula Rong"
                               " Hai."},
        "it": {"name": "Riso jasmine Hom Mali, 5 kg",
               "description": "Riso profumato del nuovo raccolto dalla piana di Thung Kula Rong "
                               "Hai."},
        "ru": {"name": "Жасминовый рис Хом Мали, 5 кг",
               "description": "Ароматный рис нового урожая с равнины Тхунг Кула Ронг Хай."},
        "vi": {"name": "Gạo lài Hom Mali, 5 kg",
               "description": "Gạo thơm vụ mới từ đồng Thung Kula Rong Hai."},
    },
    "thai-silk-scarf": {
        "zh": {"name": "手工泰丝围巾",
               "description": "素林的扎染丝绸，手工染色与织造。"},
        "th": {"name": "ผ้าพันคอไหมไทยทอมือ",
               "description": "ผ้าไหมมัดหมี่จากสุรินทร์ ย้อมและทอด้วยมือ"},
        "es": {"name": "Pañuelo de seda tailandesa tejido a mano",
               "description": "Seda mudmee de Surin, teñida y tejida a mano."},
        "it": {"name": "Sciarpa di seta thailandese tessuta a mano",
               "description": "Seta mudmee di Surin, tinta e tessuta a mano."},
        "ru": {"name": "Тайский шёлковый шарф ручной работы",
               "description": "Шёлк мадми из Сурина, окрашен и соткан вручную."},
        "vi": {"name": "Khăn lụa Thái dệt tay",
               "description": "Lụa mudmee từ Surin, nhuộm và dệt thủ công."},
    },
}


async def seed(store: Store) -> list[str]:
    """Create the demo rooms that do not exist yet; return the ids created."""
    created = []
    for room_input, products in DEMO_ROOMS:
        translations = ROOM_TRANSLATIONS.get(room_input["id"])
        record = room_from_input({**room_input, **({"translations": translations}
                                                   if translations else {})})
        try:
            await store.create_room(record)
        except LiveroomError as exc:
            if exc.code == "conflict":
                continue  # already there (an earlier run, or another instance)
            raise
        for product in products:
            translations = PRODUCT_TRANSLATIONS.get(product["id"])
            if translations:
                product = {**product, "translations": translations}
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
