"""The REST API (JSON): rooms, products, sales, orders, webhooks, deleted rooms' archives,
health, the instance's log level, the revocation list. Errors follow middleware.py."""

from __future__ import annotations

from aiohttp import web

from . import (
    admin,
    archives,
    guest,
    health,
    products,
    revocations,
    rooms,
    sales,
    webhooks,
)


def setup_api(app: web.Application) -> None:
    r = app.router
    r.add_get("/healthz", health.healthz)
    r.add_get("/readyz", health.readyz)
    r.add_get("/api/admin/log-level", admin.get_log_level)
    r.add_put("/api/admin/log-level", admin.put_log_level)
    r.add_get("/api/admin/revocations", revocations.list_revocations)
    r.add_post("/api/admin/revocations", revocations.revoke)
    r.add_put("/api/guest", guest.keep_guest)
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
    r.add_get("/api/rooms/{room}/sales", sales.list_sales)
    r.add_post("/api/rooms/{room}/sales", sales.create_sale)
    r.add_get("/api/rooms/{room}/sales/{sale}", sales.get_sale)
    r.add_post("/api/rooms/{room}/sales/{sale}/{action:end|cancel}", sales.finish_sale)
    r.add_get("/api/rooms/{room}/sales/{sale}/orders", sales.sale_orders)
    r.add_get("/api/rooms/{room}/orders", sales.room_orders)
    r.add_get("/api/rooms/{room}/orders/mine", sales.my_orders)
    r.add_get("/api/rooms/{room}/orders/{order}", sales.get_order)
    r.add_post("/api/rooms/{room}/orders/{order}/{action:pay|cancel}", sales.settle_order)
    r.add_put("/api/rooms/{room}/webhook", webhooks.put_webhook)
    r.add_get("/api/rooms/{room}/webhook", webhooks.get_webhook)
    r.add_delete("/api/rooms/{room}/webhook", webhooks.delete_webhook)
    r.add_get("/api/rooms/{room}/webhook/deliveries", webhooks.deliveries)
    r.add_post("/api/rooms/{room}/webhook/deliveries/{delivery}/replay", webhooks.replay)
    r.add_get("/api/archives", archives.list_archives)
    r.add_get("/api/archives/{room}", archives.get_archive)
    r.add_delete("/api/archives/{room}", archives.purge_archive)
    r.add_get("/api/archives/{room}/orders", archives.archive_orders)
    r.add_post("/api/archives/{room}/orders/{order}/{action:pay|cancel}",
               archives.settle_archived_order)
    r.add_get("/api/archives/{room}/webhook/deliveries", archives.archive_deliveries)
    r.add_delete("/api/archives/{room}/webhook", archives.delete_archive_webhook)
