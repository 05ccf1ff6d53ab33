// The viewer's flash-sale cards: countdown while scheduled; while live the sale price beside
// the regular one struck through with its % off, the stock bar, "just bought", and Buy, which
// says why it cannot be pressed (sold out, the per-person limit reached, not signed in); the
// order and its Pay link after a buy. A banner on the video announces a sale when it is
// scheduled and when it goes live.

import { buyErrorText, orderText, payLink, Presses, signInLink } from "./buying.js";
import { localized, onLanguage, t } from "./i18n.js";
import { convertedText, formatMoney, percentOff } from "./money.js";
import { buyer } from "./products.js";
import { FINISHED, clockText, formatDuration, stateLabel, stockBar, updateStockBar } from "./sales.js";
import { el, notice, setText } from "./ui.js";

const TICK_MS = 250;
const FINISHED_SHOWN_MS = 15000; // a finished sale stays on screen this long, then goes
const TICKER_SIZE = 5;
const BANNER_MS = 7000;

/** The sale's product in the page's language, and its regular price when in the sale's
 * currency (what the sale price is struck against). */
function productOf(sale) {
  const product = localized(sale.product || {});
  const regular = product.price && product.currency === sale.currency ? product.price : null;
  return { product, name: product.name || sale.product_id, regular };
}

class SaleCard {
  constructor(sale, panel) {
    this.panel = panel;
    this.id = sale.id;
    this.presses = new Presses(panel.channel, "sale.buy", { sale_id: sale.id });
    this.busy = false;
    const product = sale.product || {};
    this.badge = el("p", { class: "sale-badge" });
    this.clock = el("p", { class: "sale-clock", "aria-live": "off" });
    this.price = el("span", { class: "sale-price-main" });
    this.regular = el("s", { class: "sale-price-regular" });
    this.off = el("span", { class: "sale-off" });
    this.converted = el("span", { class: "sale-price-converted muted" });
    this.bar = stockBar();
    this.stockText = el("p", { class: "stock-text" });
    this.limit = el("p", { class: "sale-limit muted" });
    this.quantity = el("input", { type: "number", min: 1, value: 1, inputmode: "numeric", id: `qty-${sale.id}`, class: "sale-qty buy-qty" });
    this.qtyLabel = el("label", { for: this.quantity.id, class: "sale-qty-label buy-qty-label" });
    this.button = el("button", { type: "submit", class: "btn btn-buy" });
    this.result = el("div", { class: "notice buy-result", role: "status", hidden: true });
    this.note = el("p", { class: "sale-note buy-note", hidden: true });
    this.form = el(
      "form",
      { class: "buy-form", on: { submit: (ev) => (ev.preventDefault(), this.buy()) } },
      this.qtyLabel, this.quantity, this.button,
    );
    this.quantity.addEventListener("input", () => this.updateButton());
    this.heading = el("h3", { class: "sale-name", id: `sale-name-${sale.id}` });
    this.li = el(
      "li",
      { class: "sale-card", dataset: { saleId: sale.id }, "aria-labelledby": this.heading.id },
      product.image ? el("img", { class: "sale-image", src: product.image, alt: "", width: 96, height: 96 }) : null,
      el(
        "div",
        { class: "sale-body" },
        el("div", { class: "sale-top" }, this.badge, this.clock),
        this.heading,
        el("p", { class: "sale-price" }, this.price, " ", this.regular, " ", this.off, " ", this.converted),
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
    const { name, regular } = productOf(sale);
    this.li.dataset.state = sale.state;
    setText(this.heading, name);
    setText(this.badge, stateLabel(sale.state));
    setText(this.price, formatMoney(sale.price, sale.currency));
    const off = regular ? percentOff(sale.price, regular) : 0;
    setText(this.regular, off ? formatMoney(regular, sale.currency) : "");
    setText(this.off, off ? t("−{percent}%", { percent: off }) : "");
    this.regular.hidden = this.off.hidden = !off;
    // The sale's own rates, fixed when it was created: never today's.
    setText(this.converted, convertedText(sale.price, sale.currency, sale.rates));
    setText(this.stockText, updateStockBar(this.bar, sale));
    setText(this.limit, t("Up to {limit} per person", { limit: sale.per_user_limit }));
    setText(this.qtyLabel, t("Quantity"));
    this.tick(this.panel.book.now());
    this.updateButton();
  }

  tick(now) {
    setText(this.clock, clockText(this.sale, now));
  }

  /** Units this viewer may still buy, and why not when none. */
  allowance() {
    const sale = this.sale;
    const left = sale.per_user_limit - this.panel.held(sale.id);
    if (sale.state === "sold_out" || (sale.state === "live" && sale.remaining <= 0)) {
      return { units: 0, reason: t("Sold out: every unit is taken.") };
    }
    if (left <= 0) return { units: 0, reason: t("You have bought the most allowed: {limit} per person.", { limit: sale.per_user_limit }) };
    return { units: Math.min(left, sale.remaining), reason: "" };
  }

  updateButton() {
    const who = buyer(this.panel.channel.you);
    const live = this.sale.state === "live";
    const { units, reason } = this.allowance();
    const open = live && who.canBuy && units > 0;
    this.button.disabled = !open || this.busy;
    this.quantity.disabled = !open;
    this.quantity.max = String(Math.max(1, units));
    const retry = this.presses.retrying(this.wanted());
    setText(this.button, this.busy ? t("Buying…") : retry ? t("Try again") : t("Buy now"));
    // The visible words first (voice control users say what they see), then which product.
    this.button.setAttribute("aria-label", `${this.button.textContent}: ${productOf(this.sale).name}`);
    const signIn = live && who.signIn ? signInLink() : null;
    if (signIn) {
      this.note.replaceChildren(signIn);
      this.note.hidden = false;
    } else if (live && !who.canBuy) {
      notice(this.note, who.reason);
    } else {
      notice(this.note, (live || this.sale.state === "sold_out") && who.canBuy ? reason : "");
    }
  }

  wanted() {
    const n = Math.floor(Number(this.quantity.value));
    return Number.isFinite(n) && n >= 1 ? n : 1;
  }

  async buy() {
    if (this.busy) return;
    this.busy = true;
    this.updateButton();
    notice(this.result, "");
    try {
      const ack = await this.presses.buy(this.wanted(), {
        onRetry: () => notice(this.result, t("Connection trouble: trying again…"), "warn"),
      });
      this.result.replaceChildren(...[el("p", { text: orderText(ack.order, this.sale.rates, productOf(this.sale).name) }), payLink(ack.order)].filter(Boolean));
      this.result.dataset.kind = "ok";
      this.result.hidden = false;
      this.panel.ordered(ack.order);
    } catch (err) {
      notice(this.result, buyErrorText(err), "error");
    }
    this.busy = false;
    this.updateButton();
  }
}

/** The flash-sale cards of the viewer room, the "just bought" ticker, and the banner. */
export class SalePanel {
  constructor({ panel, list, ticker, tickerList, banner }, channel, book, { onOrder = null, held = () => 0 } = {}) {
    this.root = panel;
    this.list = list;
    this.ticker = ticker;
    this.tickerList = tickerList;
    this.banner = banner;
    this.channel = channel;
    this.book = book;
    this.onOrder = onOrder;
    this.held = held; // held(saleId): units this viewer holds in the sale (my orders)
    this.cards = new Map();
    this.removals = new Map();
    this.timer = null;
    this.bannerTimer = null;
    this.bannerSale = null;
    book.onChange((sale) => (sale ? this.show(sale) : this.render()));
    channel.on("sale.purchases", (event) => this.purchases(event));
    channel.on("sale.scheduled", (event) => this.announce(event.sale));
    channel.on("sale.started", (event) => this.announce(event.sale));
    channel.on("welcome", () => this.refreshButtons());
    onLanguage(() => {
      for (const card of this.cards.values()) card.update(card.sale);
      if (this.bannerSale) this.showBanner(this.bannerSale);
    });
  }

  ordered(order) {
    if (this.onOrder) this.onOrder(order);
    this.refreshButtons();
  }

  refreshButtons() {
    for (const card of this.cards.values()) card.updateButton();
  }

  render() {
    const sales = this.book.list();
    const ids = new Set(sales.map((s) => s.id));
    // Cards drawn by the server for the first paint give way to the script's.
    for (const li of [...this.list.children]) if (![...this.cards.values()].some((c) => c.li === li)) li.remove();
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
    document.body.dataset.sale = cards.some((c) => c.sale.state === "live") ? "live" : cards.length ? "upcoming" : "none";
    // Countdowns tick only while there is something to count.
    if (cards.length && !this.timer) this.timer = setInterval(() => this.tick(), TICK_MS);
    if (!cards.length && this.timer) (clearInterval(this.timer), (this.timer = null));
  }

  tick() {
    const now = this.book.now();
    for (const card of this.cards.values()) card.tick(now);
    if (this.bannerSale?.state === "scheduled") this.showBanner(this.bannerSale);
  }

  /** A sale was scheduled or went live: say so on the video, for a few seconds. */
  announce(sale) {
    this.bannerSale = sale;
    this.showBanner(sale);
    clearTimeout(this.bannerTimer);
    this.bannerTimer = setTimeout(() => {
      this.banner.hidden = true;
      this.bannerSale = null;
    }, BANNER_MS);
  }

  showBanner(sale) {
    const { name, regular } = productOf(sale);
    const off = regular ? percentOff(sale.price, regular) : 0;
    const price = formatMoney(sale.price, sale.currency);
    const text = sale.state === "scheduled"
      ? t("Flash sale in {time}: {product} at {price}", { time: formatDuration(sale.starts_at - this.book.now()), product: name, price })
      : t("Flash sale now: {product} at {price}", { product: name, price });
    const discount = t("−{percent}%", { percent: off });
    setText(this.banner, off ? `${text} (${discount})` : text);
    this.banner.dataset.state = sale.state;
    this.banner.hidden = false;
  }

  purchases(event) {
    const sale = this.book.get(event.sale_id);
    const product = sale ? productOf(sale).name : "";
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
