"""Off-site product images: a product image must be an https:// URL or a path on this server;
protocol-relative tricks that browsers resolve to another host are refused."""

from __future__ import annotations

import aiohttp
import pytest

from ..helpers import bearer, token

ROOM = "thailand"


@pytest.mark.parametrize("image", [
    "//evil.example/pixel.png",            # protocol-relative: another site
    "/\\evil.example/pixel.png",           # browsers read the backslash as a slash
    "/\\/evil.example/pixel.png",
    "/\t/evil.example/pixel.png",           # browsers drop tabs and newlines inside URLs
    "/\r\n/evil.example/pixel.png",
    "https://shop.example\\@evil.example/", # a backslash anywhere
    "javascript:alert(1)",
    "http://plain.example/pixel.png",
])
async def test_product_image_pointing_off_site_through_a_protocol_relative_path_is_refused(
        server, image):
    srv = await server()
    host = bearer(token(ROOM, "host"))
    async with aiohttp.ClientSession(base_url=srv.base_url) as api:
        created = await api.post(f"/api/rooms/{ROOM}/products", headers=host, json={
            "id": "lychee", "name": "Lychee", "price": "159", "currency": "THB", "stock": 3,
            "image": image})
        assert created.status == 400, image
        assert (await created.json())["error"]["field"] == "image"
        changed = await api.patch(f"/api/rooms/{ROOM}/products/durian", headers=host,
                                  json={"image": image})
        assert changed.status == 400
        durian = await (await api.get(f"/api/rooms/{ROOM}/products/durian")).json()
        assert durian["image"] != image


@pytest.mark.parametrize("image", ["/static/products/monthong-durian.svg",
                                   "https://cdn.example/durian.png", ""])
async def test_product_images_on_this_server_or_https_are_kept(server, image):
    srv = await server()
    async with aiohttp.ClientSession(base_url=srv.base_url) as api:
        changed = await api.patch(f"/api/rooms/{ROOM}/products/durian",
                                  headers=bearer(token(ROOM, "host")), json={"image": image})
        assert changed.status == 200, await changed.text()
        assert (await changed.json())["image"] == image
