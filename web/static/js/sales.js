// Flash sales as the room channel tells them: the snapshot's sales, then sale.* events (each
// carries the whole sale) and sale.stock (just the numbers). The viewer's sale cards and the
// console's sale list both draw from one SaleBook. It also keeps the server's clock, so a
// countdown on a phone whose clock is a minute off still opens when the server does.

import { t } from "./i18n.js";

const WHOLE_SALE_EVENTS = ["sale.scheduled", "sale.started", "sale.sold_out", "sale.ended", "sale.cancelled"];
export const FINISHED = new Set(["ended", "cancelled"]);

/** A sale state's name in the page's language (a function: the language may switch). */
export function stateLabel(state) {
  const labels = {
    scheduled: t("Upcoming"),
    live: t("Live now"),
    sold_out: t("Sold out"),
    ended: t("Ended"),
    cancelled: t("Cancelled"),
  };
  return labels[state] || state;
}

export class SaleBook {
  constructor(channel) {
    this.sales = new Map();
    this.listeners = new Set();
    this.offset = 0; // server clock minus ours, ms
    channel.on("snapshot", (snap) => this.reset(snap.sales || []));
    for (const type of WHOLE_SALE_EVENTS) channel.on(type, (event) => this.put(event.sale));
    channel.on("sale.stock", (event) => this.stock(event));
    channel.on("status", (s) => s.state === "open" && this.syncClock(channel));
  }

  /** fn(sale | null): one sale changed, or (null) the whole book did. */
  onChange(fn) {
    this.listeners.add(fn);
  }

  changed(sale) {
    for (const fn of this.listeners) fn(sale);
  }

  reset(sales) {
    this.sales = new Map(sales.map((s) => [s.id, s]));
    this.changed(null);
  }

  /** Sales read over REST (older, perhaps, than what events said since): add the unknown ones,
   * and take only final states for known ones (a finished sale never comes back). */
  merge(sales) {
    for (const sale of sales) {
      const known = this.sales.get(sale.id);
      if (!known || (FINISHED.has(sale.state) && !FINISHED.has(known.state))) this.sales.set(sale.id, sale);
    }
    this.changed(null);
  }

  put(sale) {
    if (!sale) return;
    this.sales.set(sale.id, sale);
    this.changed(sale);
  }

  stock({ sale_id: id, remaining, sold }) {
    const sale = this.sales.get(id);
    if (!sale || FINISHED.has(sale.state)) return;
    // sale.stock says nothing about the state; a sold-out or restocked sale gets its own event.
    this.sales.set(id, { ...sale, remaining, sold });
    this.changed(this.sales.get(id));
  }

  get(id) {
    return this.sales.get(id) || null;
  }

  list() {
    return [...this.sales.values()].sort((a, b) => a.starts_at - b.starts_at);
  }

  now() {
    return Date.now() + this.offset;
  }

  async syncClock(channel) {
    try {
      const sent = Date.now();
      const ack = await channel.command("ping");
      const back = Date.now();
      if (typeof ack.time === "number") this.offset = ack.time - (sent + back) / 2;
    } catch {
      /* keep the last estimate */
    }
  }
}

/** 42_000 → "0:42"; 3_723_000 → "1:02:03". */
export function formatDuration(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** What a sale's clock says now: "Starts in 0:42", "Ends in 4:12", or nothing. */
export function clockText(sale, now) {
  if (sale.state === "scheduled") {
    return now < sale.starts_at ? t("Starts in {time}", { time: formatDuration(sale.starts_at - now) }) : t("Starting…");
  }
  if (sale.state === "live" || sale.state === "sold_out") {
    return now < sale.ends_at ? t("Ends in {time}", { time: formatDuration(sale.ends_at - now) }) : t("Ending…");
  }
  return "";
}

/** A stock bar: a <progress> of units left, which screen readers read as "143 of 200 left".
 * (A progress element, not a styled width: the pages allow no inline styles.) */
export function stockBar() {
  const bar = document.createElement("progress");
  bar.className = "stock-bar";
  return bar;
}

export function updateStockBar(bar, sale) {
  const text = t("{remaining} of {stock} left", { remaining: sale.remaining, stock: sale.stock });
  bar.max = Math.max(1, sale.stock);
  bar.value = Math.max(0, sale.remaining);
  bar.setAttribute("aria-label", t("Units left"));
  bar.setAttribute("aria-valuetext", text);
  bar.dataset.low = sale.remaining <= sale.stock * 0.2 ? "true" : "false";
  return text;
}
