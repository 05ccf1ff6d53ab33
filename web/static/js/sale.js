// The viewer's flash-sale panel: a card per sale (countdown while scheduled, stock bar while
// live, the buy button and its answer), and the "just bought" ticker.
//
// A press of Buy gets one idempotency key. If the answer is lost (the connection dropped, the
// server was busy or draining) the same press is sent again with the same key, by itself once
// the channel is back or when the viewer presses again with the same quantity: the server then
// answers with the order the first attempt made, never a second one. A new quantity, or an
// answer, starts a new press.

import { t } from "./i18n.js";
import { convertedText, formatMoney } from "./money.js";
import { FINISHED, STATE_LABELS, clockText, stockBar, updateStockBar } from "./sales.js";
import { el, errorText, formatTime, notice, setText } from "./ui.js";

const TICK_MS = 250;
const FINISHED_SHOWN_MS = 15000; // a finished sale stays on screen this long, then goes
const TICKER_SIZE = 5;
const AUTO_RETRIES = 3;
// Answers that say nothing about the buy: it may or may not have been made. Retry, same key.
const RETRYABLE = new Set(["disconnected", "timeout", "unavailable", "draining", "internal"]);

function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(12)); // randomUUID needs https
  return `buy-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** A refused buy, said precisely, in the page's language. */
export function buyErrorText(err) {
  const f = err.frame || {};
  switch (err.code) {
    case "sale_not_started":
      return f.starts_at ? t("The sale has not started yet: it opens at {time}.", { time: formatTime(f.starts_at) }) : t("The sale has not started yet.");
    case "sale_ended":
      return t("Too late: this sale has ended.");
    case "sale_cancelled":
      return t("This sale was cancelled.");
    case "sold_out":
      return t("Sold out: every unit is taken.");
    case "not_enough_stock":
      return t("Only {remaining} left: choose fewer.", { remaining: f.remaining ?? 0 });
    case "over_limit":
      return t("You already have {held} of the {limit} allowed per person.", { held: f.held ?? "?", limit: f.limit ?? "?" });
    case "idempotency_conflict":
      return t("This press was already used for another quantity. Press Buy again.");
    case "sale_not_found":
      return t("This sale no longer exists.");
    case "forbidden":
      return t("Sign in to buy: guests can watch and chat, but not buy.");
    default:
      return errorText(err);
  }
}

/** The confirmation of an order, in the sale's currency and (at the sale's rates) the viewer's. */
export function orderText(order, sale) {
  const converted = sale ? convertedText(order.total, order.currency, sale.rates) : "";
  let total = formatMoney(order.total, order.currency);
  if (converted) total += ` (${converted})`;
  const values = { quantity: order.quantity, product: order.product_name, total, time: formatTime(order.expires_at) };
  return t("Order confirmed: {quantity} × {product}, {total}. Reserved for you until {time}.", values);
}

class SaleCard {
  constructor(sale, panel) {
    this.panel = panel;
    this.id = sale.id;
    this.press = null; // {key, quantity} of a press whose answer has not come
    const product = sale.product || {};
    this.badge = el("p", { class: "sale-badge" });
    this.clock = el("p", { class: "sale-clock", "aria-live": "off" });
    this.price = el("span", { class: "sale-price-main" });
    this.converted = el("span", { class: "sale-price-converted muted" });
    this.bar = stockBar();
    this.stockText = el("p", { class: "stock-text" });
    this.limit = el("p", { class: "sale-limit muted" });
    this.quantity = el("input", { type: "number", min: 1, value: 1, inputmode: "numeric", id: `qty-${sale.id}`, class: "sale-qty" });
    this.button = el("button", { type: "submit", class: "btn btn-buy" });
    this.result = el("p", { class: "notice buy-result", role: "status", hidden: true });
    this.note = el("p", { class: "sale-note", hidden: true });
    this.form = el(
      "form",
      { class: "buy-form", on: { submit: (ev) => (ev.preventDefault(), this.buy()) } },
      el("label", { for: this.quantity.id, class: "sale-qty-label", text: t("Quantity") }),
      this.quantity,
      this.button,
    );
    this.quantity.addEventListener("input", () => this.updateButton());
    const heading = el("h3", { class: "sale-name", id: `sale-name-${sale.id}`, text: product.name || sale.product_id });
    this.li = el(
      "li",
      { class: "sale-card", dataset: { saleId: sale.id }, "aria-labelledby": heading.id },
      product.image ? el("img", { class: "sale-image", src: product.image, alt: "", width: 96, height: 96 }) : null,
      el(
        "div",
        { class: "sale-body" },
        el("div", { class: "sale-top" }, this.badge, this.clock),
        heading,
        el("p", { class: "sale-price" }, this.price, " ", this.converted),
        this.bar,
        el("div", { class: "sale-stock-row" }, this.stockText, this.limit),
        this.form,
        this.note,
        this.result,
      ),
    );
    this.update(sale);
  }

  update(sale) {
    this.sale = sale;
    this.li.dataset.state = sale.state;
    setText(this.badge, STATE_LABELS[sale.state] || sale.state);
    setText(this.price, formatMoney(sale.price, sale.currency));
    // The sale's own rates, fixed when it was created: never today's.
    setText(this.converted, convertedText(sale.price, sale.currency, sale.rates));
    setText(this.stockText, updateStockBar(this.bar, sale));
    setText(this.limit, t("Up to {limit} per person", { limit: sale.per_user_limit }));
    this.quantity.max = String(Math.max(1, Math.min(sale.per_user_limit, sale.remaining || sale.per_user_limit)));
    this.tick(this.panel.book.now());
    this.updateButton();
  }

  tick(now) {
    setText(this.clock, clockText(this.sale, now));
  }

  updateButton() {
    const { canBuy, reason } = this.panel.buyer();
    const live = this.sale.state === "live";
    this.button.disabled = !live || !canBuy || this.busy;
    this.quantity.disabled = !live || !canBuy;
    const retry = this.press && this.press.quantity === this.wanted();
    setText(this.button, this.busy ? t("Buying…") : retry ? t("Try again") : t("Buy now"));
    // The visible words first (voice control users say what they see), then which product.
    this.button.setAttribute("aria-label", `${this.button.textContent}: ${this.sale.product?.name || this.sale.product_id}`);
    notice(this.note, live && !canBuy ? reason : "");
  }

  wanted() {
    const n = Math.floor(Number(this.quantity.value));
    return Number.isFinite(n) && n >= 1 ? n : 1;
  }

  async buy() {
    if (this.busy) return;
    const quantity = this.wanted();
    if (!this.press || this.press.quantity !== quantity) this.press = { key: newKey(), quantity };
    const press = this.press;
    this.busy = true;
    this.updateButton();
    notice(this.result, "");
    for (let attempt = 0; ; attempt++) {
      try {
        const ack = await this.panel.channel.command("sale.buy", { sale_id: this.id, quantity, idempotency_key: press.key });
        this.press = null;
        notice(this.result, orderText(ack.order, this.sale), "ok");
        this.panel.ordered(ack.order);
        break;
      } catch (err) {
        if (RETRYABLE.has(err.code) && attempt < AUTO_RETRIES) {
          notice(this.result, t("Connection trouble: trying again…"), "warn");
          await this.panel.whenOpen();
          continue;
        }
        if (!RETRYABLE.has(err.code)) this.press = null; // a real answer: this press is done
        const again = this.press ? t("Press Try again: you will not be charged twice.") : "";
        notice(this.result, again ? `${buyErrorText(err)} ${again}` : buyErrorText(err), "error");
        break;
      }
    }
    this.busy = false;
    this.updateButton();
  }
}

/** The flash-sale panel of the viewer room. */
export class SalePanel {
  constructor({ panel, list, ticker, tickerList }, channel, book, { onOrder = null } = {}) {
    this.root = panel;
    this.list = list;
    this.ticker = ticker;
    this.tickerList = tickerList;
    this.channel = channel;
    this.book = book;
    this.onOrder = onOrder;
    this.cards = new Map();
    this.removals = new Map();
    this.timer = null;
    book.onChange((sale) => (sale ? this.show(sale) : this.render()));
    channel.on("sale.purchases", (event) => this.purchases(event));
    channel.on("welcome", () => this.refreshButtons());
  }

  /** Whether this page may buy: a signed-in viewer (guests and staff may not). */
  buyer() {
    const you = this.channel.you;
    if (!you) return { canBuy: false, reason: "" };
    if (you.guest) return { canBuy: false, reason: t("Sign in to buy: open the shopping link you were sent. Guests can watch and chat.") };
    if (you.role !== "viewer") return { canBuy: false, reason: t("Staff cannot buy in flash sales.") };
    return { canBuy: true, reason: "" };
  }

  whenOpen() {
    if (this.channel.state === "open") return new Promise((resolve) => setTimeout(resolve, 300));
    return new Promise((resolve) => {
      const off = this.channel.on("status", (s) => {
        if (s.state === "open" || s.state === "closed") (off(), resolve());
      });
    });
  }

  ordered(order) {
    if (this.onOrder) this.onOrder(order);
  }

  refreshButtons() {
    for (const card of this.cards.values()) card.updateButton();
  }

  render() {
    const sales = this.book.list();
    const ids = new Set(sales.map((s) => s.id));
    for (const [id, card] of this.cards) if (!ids.has(id)) this.drop(id, card);
    for (const sale of sales) this.show(sale, false);
    this.layout();
  }

  show(sale, layout = true) {
    let card = this.cards.get(sale.id);
    if (!card) {
      card = new SaleCard(sale, this);
      this.cards.set(sale.id, card);
    } else {
      card.update(sale);
    }
    clearTimeout(this.removals.get(sale.id));
    if (FINISHED.has(sale.state)) {
      this.removals.set(sale.id, setTimeout(() => this.drop(sale.id, card, true), FINISHED_SHOWN_MS));
    }
    if (layout) this.layout();
  }

  drop(id, card, layout = false) {
    card.li.remove();
    this.cards.delete(id);
    if (layout) this.layout();
  }

  layout() {
    const cards = [...this.cards.values()].sort((a, b) => a.sale.starts_at - b.sale.starts_at);
    cards.forEach((card, i) => {
      if (this.list.children[i] !== card.li) this.list.insertBefore(card.li, this.list.children[i] || null);
    });
    this.root.hidden = cards.length === 0;
    // Countdowns tick only while there is something to count.
    if (cards.length && !this.timer) this.timer = setInterval(() => this.tick(), TICK_MS);
    if (!cards.length && this.timer) (clearInterval(this.timer), (this.timer = null));
  }

  tick() {
    const now = this.book.now();
    for (const card of this.cards.values()) card.tick(now);
  }

  purchases(event) {
    const sale = this.book.get(event.sale_id);
    const product = sale?.product?.name || "";
    for (const buyer of event.buyers || []) {
      const text = product
        ? t("{name} just bought {units} × {product}", { name: buyer.name, units: buyer.units, product })
        : t("{name} just bought {units}", { name: buyer.name, units: buyer.units });
      this.tickerList.prepend(el("li", { class: "ticker-item", text }));
    }
    const others = (event.orders || 0) - (event.buyers || []).length;
    if (others > 0) this.tickerList.prepend(el("li", { class: "ticker-item muted", text: t("…and {count} more orders", { count: others }) }));
    while (this.tickerList.children.length > TICKER_SIZE) this.tickerList.lastElementChild.remove();
    this.ticker.hidden = this.tickerList.children.length === 0;
  }
}
