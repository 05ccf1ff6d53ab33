"""The REST API (JSON): rooms, products, health. Errors follow middleware.py."""

from __future__ import annotations

from aiohttp import web

from . import health, products, rooms


def setup_api(app: web.Application) -> None:
    r = app.router
    r.add_get("/healthz", health.healthz)
    r.add_get("/readyz", health.readyz)
    r.add_get("/api/rooms", rooms.list_rooms)
    r.add_post("/api/rooms", rooms.create_room)
    r.add_get("/api/rooms/{room}", rooms.get_room)
    r.add_patch("/api/rooms/{room}", rooms.update_room)
    r.add_delete("/api/rooms/{room}", rooms.delete_room)
    r.add_get("/api/rooms/{room}/products", products.list_products)
    r.add_post("/api/rooms/{room}/products", products.create_product)
    r.add_get("/api/rooms/{room}/products/{product}", products.get_product)
    r.add_patch("/api/rooms/{room}/products/{product}", products.update_product)
    r.add_delete("/api/rooms/{room}/products/{product}", products.delete_product)
