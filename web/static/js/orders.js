// "My orders" in the viewer room: what this signed-in viewer bought here, in flash sales and
// outside them (orders.mine), loaded on joining and after every buy, each reserved one with
// its Pay link. When the shop marks an order paid or cancelled (or it expires) the server
// tells this buyer alone (order.updated, addressed to them): the list changes at once.
// Guests have no orders: the panel hides.

import { payLink, totalText } from "./buying.js";
import { localized, onLanguage, t } from "./i18n.js";
import { el, errorText, formatTime, setText } from "./ui.js";

/** An order status in the page's language. */
export function orderStatus(status) {
  const names = {
    reserved: t("Reserved: waiting for payment"),
    paid: t("Paid"),
    cancelled: t("Cancelled"),
    expired: t("Expired: not paid in time"),
  };
  return names[status] || status;
}

const HOLDS = new Set(["reserved", "paid"]); // statuses whose units count against a limit

export class MyOrders {
  constructor({ panel, list, status, refresh, count = null }, channel, book) {
    this.panel = panel;
    this.list = list;
    this.status = status;
    this.count = count;
    this.channel = channel;
    this.book = book;
    this.orders = new Map();
    this.listeners = new Set();
    refresh.addEventListener("click", () => this.load());
    channel.on("status", (s) => s.state === "open" && this.load());
    channel.on("order.updated", (event) => this.put(event.order));
    onLanguage(() => this.render());
  }

  /** fn() hears every change (the sale cards recount what this viewer holds). */
  onChange(fn) {
    this.listeners.add(fn);
  }

  canHaveOrders() {
    const you = this.channel.you;
    return Boolean(you && !you.guest && you.role === "viewer");
  }

  /** Units this viewer holds in a sale (reserved or paid). */
  held(saleId) {
    let units = 0;
    for (const order of this.orders.values()) if (order.sale_id === saleId && HOLDS.has(order.status)) units += order.quantity;
    return units;
  }

  async load() {
    this.panel.hidden = !this.canHaveOrders();
    if (this.panel.hidden) return;
    try {
      // A page at a time (1,000 orders at most each), until the last one.
      const orders = [];
      let after = null;
      do {
        const ack = await this.channel.command("orders.mine", after ? { after, limit: 1000 } : { limit: 1000 });
        orders.push(...(ack.orders || []));
        after = ack.next;
      } while (after);
      this.orders = new Map(orders.map((o) => [o.id, o]));
      this.render();
    } catch (err) {
      setText(this.status, errorText(err));
    }
  }

  /** A new order (a buy on this page), or one the server says changed. */
  put(order) {
    const known = this.orders.get(order.id);
    // order.updated carries no pay link (it is for a settled order); keep what we had.
    this.orders.set(order.id, known ? { ...known, ...order } : order);
    this.panel.hidden = false;
    this.render();
  }

  item(order) {
    const sale = order.sale_id ? this.book.get(order.sale_id) : null;
    const name = localized({ name: order.product_name, translations: sale?.product?.translations }).name;
    return el(
      "li",
      { class: "order", dataset: { orderId: order.id, status: order.status } },
      el("span", { class: "order-what", text: `${order.quantity} × ${name}` }),
      el("span", { class: "order-total", text: totalText(order, sale?.rates) }),
      el("span", { class: `order-status status-${order.status}`, text: orderStatus(order.status) }),
      el("time", { class: "order-time muted", datetime: new Date(order.created_at).toISOString(), text: formatTime(order.created_at) }),
      payLink(order),
    );
  }

  render() {
    const newest = [...this.orders.values()].sort((a, b) => b.created_at - a.created_at);
    this.list.replaceChildren(...newest.map((o) => this.item(o)));
    setText(this.status, newest.length ? "" : t("No orders yet. Buy a product, or in a flash sale."));
    const unpaid = newest.filter((o) => o.status === "reserved").length;
    if (this.count) {
      setText(this.count, unpaid ? String(unpaid) : "");
      this.count.hidden = !unpaid;
    }
    for (const fn of this.listeners) fn();
  }
}
