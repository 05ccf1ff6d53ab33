// "My orders" in the viewer room: what this signed-in viewer bought in the room's flash sales
// (orders.mine), loaded on joining and after every buy. Guests have no orders: the panel hides.

import { t } from "./i18n.js";
import { convertedText, formatMoney } from "./money.js";
import { el, errorText, formatTime, setText } from "./ui.js";

export const ORDER_STATUS = {
  reserved: t("Reserved: waiting for payment"),
  paid: t("Paid"),
  cancelled: t("Cancelled"),
  expired: t("Expired: not paid in time"),
};

export class MyOrders {
  constructor({ panel, list, status, refresh }, channel, book) {
    this.panel = panel;
    this.list = list;
    this.status = status;
    this.channel = channel;
    this.book = book;
    this.loading = null;
    refresh.addEventListener("click", () => this.load());
    channel.on("status", (s) => s.state === "open" && this.load());
  }

  canHaveOrders() {
    const you = this.channel.you;
    return Boolean(you && !you.guest && you.role === "viewer");
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
      this.render(orders);
    } catch (err) {
      setText(this.status, errorText(err));
    }
  }

  /** A new order from a buy on this page: shown at once, then the list is read again. */
  add(order) {
    this.panel.hidden = false;
    this.list.prepend(this.item(order));
    setText(this.status, "");
    this.load();
  }

  item(order) {
    const sale = this.book.get(order.sale_id);
    const converted = sale ? convertedText(order.total, order.currency, sale.rates) : "";
    const total = formatMoney(order.total, order.currency);
    return el(
      "li",
      { class: "order", dataset: { orderId: order.id, status: order.status } },
      el("span", { class: "order-what", text: `${order.quantity} × ${order.product_name}` }),
      el("span", { class: "order-total", text: converted ? `${total} (${converted})` : total }),
      el("span", { class: `order-status status-${order.status}`, text: ORDER_STATUS[order.status] || order.status }),
      el("time", { class: "order-time muted", datetime: new Date(order.created_at).toISOString(), text: formatTime(order.created_at) }),
    );
  }

  render(orders) {
    const newest = [...orders].sort((a, b) => b.created_at - a.created_at);
    this.list.replaceChildren(...newest.map((o) => this.item(o)));
    setText(this.status, newest.length ? "" : t("No orders yet. When a flash sale is live, press Buy now."));
  }
}
