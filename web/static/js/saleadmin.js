// The console's flash sales: the form that creates one (product, price, stock, per-person
// limit, duration in minutes and seconds, now or at a time of day), every sale with its
// progress, clock and End / Cancel, and the orders of the sale a moderator picks (REST, with
// the console link's token; JSON, or CSV to download).

import { t } from "./i18n.js";
import { formatMoney, priceText } from "./money.js";
import { orderStatus } from "./orders.js";
import { FINISHED, SaleBook, clockText, formatDuration, stateLabel, stockBar, updateStockBar } from "./sales.js";
import { $, el, errorText, formatCount, formatTime, notice, setText } from "./ui.js";

const TICK_MS = 500;
const ORDERS_REFRESH_MS = 1500; // the orders table follows purchases, at most this often

export class SaleAdmin {
  constructor(root, ordersRoot, { room, token, channel, run }) {
    this.room = room;
    this.token = token;
    this.channel = channel;
    this.run = run;
    this.book = new SaleBook(channel);
    this.products = new Map();
    this.rows = new Map();
    this.form = $("[data-sale-form]", root);
    this.productSelect = $("[data-sale-product]", root);
    this.priceInput = $("[data-sale-price]", root);
    this.hint = $("[data-sale-hint]", root);
    this.formStatus = $("[data-form-status]", this.form);
    this.list = $("[data-admin-sales]", root);
    this.empty = $("[data-admin-sales-empty]", root);
    this.orders = new SaleOrders(ordersRoot, { room, token, book: this.book });

    this.startTime = $("[data-sale-start-time]", root);
    this.form.addEventListener("submit", (ev) => (ev.preventDefault(), this.create()));
    this.productSelect.addEventListener("change", () => this.describeProduct());
    // Picking a time means starting then.
    this.startTime.addEventListener("input", () => {
      this.form.querySelector("input[name=start][value=at]").checked = Boolean(this.startTime.value);
      this.describeProduct();
    });
    this.form.addEventListener("change", () => this.describeProduct());
    this.book.onChange(() => this.render());
    channel.on("sale.purchases", (event) => this.orders.changed(event.sale_id));
    channel.on("sale.stock", (event) => this.orders.changed(event.sale_id));
    // The snapshot lists only sales not ended; the REST list adds the finished ones, whose
    // orders a moderator still wants to read.
    channel.on("snapshot", () => this.loadFinished());
    setInterval(() => this.tick(), TICK_MS);
  }

  async loadFinished() {
    try {
      const response = await fetch(`/api/rooms/${encodeURIComponent(this.room)}/sales`, { cache: "no-store" });
      if (response.ok) this.book.merge((await response.json()).sales || []);
    } catch {
      /* the live sales are there anyway */
    }
  }

  setProducts(products) {
    this.products = new Map(products.map((p) => [p.id, p]));
    const current = this.productSelect.value;
    this.productSelect.replaceChildren(...products.map((p) => el("option", { value: p.id, text: p.name })));
    if (this.products.has(current)) this.productSelect.value = current;
    this.describeProduct();
  }

  describeProduct() {
    const product = this.products.get(this.productSelect.value);
    if (!product) return setText(this.hint, t("This room has no products yet."));
    this.priceInput.placeholder = product.price;
    const start = this.startsAt();
    let text = t("Regular price {price}; the sale price is in {currency}. Leave it empty to keep the regular price.", {
      price: priceText(product.price, product.currency),
      currency: product.currency,
    });
    if (start) {
      const when = t("It starts at {time}, in {wait}.", { time: formatTime(start), wait: formatDuration(start - this.book.now()) });
      text = `${text} ${when}`;
    }
    setText(this.hint, text);
  }

  /** The chosen start (Unix ms): today at the picked time, or tomorrow when that has passed;
   * null for "now". */
  startsAt() {
    const data = new FormData(this.form);
    const time = String(data.get("starts_at") || "");
    if (data.get("start") !== "at" || !/^\d\d:\d\d(:\d\d)?$/.test(time)) return null;
    const [hours, minutes, seconds = 0] = time.split(":").map(Number);
    const when = new Date(this.book.now());
    when.setHours(hours, minutes, seconds, 0);
    if (when.getTime() <= this.book.now()) when.setDate(when.getDate() + 1);
    return when.getTime();
  }

  async create() {
    const data = new FormData(this.form);
    const number = (name) => Number(data.get(name));
    const fields = {
      product_id: data.get("product_id"),
      stock: number("stock"),
      per_user_limit: number("per_user_limit"),
      duration: number("duration_min") * 60 + number("duration_sec"),
    };
    const startsAt = this.startsAt();
    if (startsAt) fields.starts_at = startsAt;
    else fields.starts_in = 0;
    if (data.get("start") === "at" && !startsAt) {
      notice(this.formStatus, t("Pick the time the sale starts at."), "error");
      return;
    }
    if (fields.duration < 10) {
      notice(this.formStatus, t("A sale lasts at least 10 seconds."), "error");
      return;
    }
    const price = String(data.get("price") || "").trim();
    if (price) fields.price = price;
    if (fields.per_user_limit > fields.stock) {
      notice(this.formStatus, t("The limit per person cannot be more than the units for sale."), "error");
      return;
    }
    const button = $("button[type=submit]", this.form);
    const ack = await this.run("sale.create", fields, button, (err) => {
      notice(this.formStatus, errorText(err), "error");
    });
    if (!ack) return;
    this.book.put(ack.sale); // the event follows; the ack is here first
    notice(this.formStatus, t("Flash sale created: {product}.", { product: ack.sale.product?.name || fields.product_id }), "ok");
  }

  row(sale) {
    let row = this.rows.get(sale.id);
    if (!row) {
      const name = sale.product?.name || sale.product_id;
      row = {
        li: el("li", { class: "admin-sale", dataset: { saleId: sale.id } }),
        state: el("span", { class: "badge sale-state" }),
        clock: el("span", { class: "sale-clock muted" }),
        price: el("p", { class: "admin-sale-price" }),
        bar: stockBar(),
        progress: el("p", { class: "stock-text" }),
        end: el("button", { type: "button", class: "btn btn-small btn-secondary", text: t("End sale"), "aria-label": t("End the sale of {product}", { product: name }) }),
        cancel: el("button", { type: "button", class: "btn btn-small btn-danger", text: t("Cancel sale"), "aria-label": t("Cancel the sale of {product}", { product: name }) }),
        show: el("button", { type: "button", class: "btn btn-small btn-secondary", text: t("Orders"), "aria-label": t("Show the orders of the sale of {product}", { product: name }) }),
      };
      row.end.addEventListener("click", () => this.run("sale.end", { sale_id: sale.id }, row.end));
      row.cancel.addEventListener("click", () => this.run("sale.cancel", { sale_id: sale.id }, row.cancel));
      row.show.addEventListener("click", () => this.orders.show(sale.id));
      row.li.append(
        el("div", { class: "admin-sale-head" }, el("strong", { class: "admin-sale-name", text: name }), row.state, row.clock),
        row.price,
        row.bar,
        row.progress,
        el("div", { class: "admin-sale-actions" }, row.end, row.cancel, row.show),
      );
      this.rows.set(sale.id, row);
    }
    row.li.dataset.state = sale.state;
    setText(row.state, stateLabel(sale.state));
    setText(row.price, t("{price} · up to {limit} per person", { price: formatMoney(sale.price, sale.currency), limit: sale.per_user_limit }));
    updateStockBar(row.bar, sale);
    setText(row.progress, t("{sold} sold, {remaining} of {stock} left", {
      sold: formatCount(sale.sold), remaining: formatCount(sale.remaining), stock: formatCount(sale.stock),
    }));
    const done = FINISHED.has(sale.state);
    row.end.hidden = done;
    row.cancel.hidden = done;
    setText(row.clock, clockText(sale, this.book.now()));
    return row.li;
  }

  render() {
    // Newest first: the one just created is where the moderator looks.
    const sales = this.book.list().reverse();
    const items = sales.map((s) => this.row(s));
    items.forEach((li, i) => {
      if (this.list.children[i] !== li) this.list.insertBefore(li, this.list.children[i] || null);
    });
    this.empty.hidden = sales.length > 0;
  }

  tick() {
    const now = this.book.now();
    for (const [id, row] of this.rows) {
      const sale = this.book.get(id);
      if (sale) setText(row.clock, clockText(sale, now));
    }
  }
}

/** The orders of one sale, read over REST with the console's token. */
class SaleOrders {
  constructor(root, { room, token, book }) {
    this.root = root;
    this.room = room;
    this.token = token;
    this.book = book;
    this.saleId = null;
    this.timer = null;
    this.title = $("h2", root);
    this.status = $("[data-orders-status]", root);
    this.body = $("[data-orders-body]", root);
    $("[data-orders-csv]", root).addEventListener("click", () => this.download());
  }

  url(saleId, csv = false, after = null) {
    const base = `/api/rooms/${encodeURIComponent(this.room)}/sales/${encodeURIComponent(saleId)}/orders`;
    const query = new URLSearchParams({ limit: "1000" });
    if (csv) query.set("format", "csv");
    if (after) query.set("after", after);
    return `${base}?${query}`;
  }

  /** Every order of a sale, reading the REST API's pages (the JSON form names the next one). */
  async all(saleId) {
    const orders = [];
    let after = null;
    do {
      const page = await (await this.request(this.url(saleId, false, after))).json();
      orders.push(...page.orders);
      after = page.next;
    } while (after);
    return orders;
  }

  /** The CSV of every page, joined: the header row once. */
  async allCsv(saleId) {
    const parts = [];
    let url = this.url(saleId, true);
    while (url) {
      const response = await this.request(url);
      const text = await response.text();
      parts.push(parts.length ? text.slice(text.indexOf("\n") + 1) : text);
      url = nextLink(response.headers.get("Link"));
    }
    return parts.join("");
  }

  async request(url) {
    const response = await fetch(url, { headers: { Authorization: `Bearer ${this.token}` }, cache: "no-store" });
    if (!response.ok) {
      let code = `HTTP ${response.status}`;
      try {
        code = (await response.json()).error.code;
      } catch {
        /* not JSON */
      }
      throw Object.assign(new Error(code), { code });
    }
    return response;
  }

  show(saleId) {
    this.saleId = saleId;
    this.root.hidden = false;
    const sale = this.book.get(saleId);
    setText(this.title, t("Orders: {product}", { product: sale?.product?.name || saleId }));
    this.load();
    this.root.scrollIntoView({ block: "nearest" });
  }

  /** Purchases in a sale: refresh its table if it is the one shown (not more than every 1.5 s). */
  changed(saleId) {
    if (saleId !== this.saleId || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.load();
    }, ORDERS_REFRESH_MS);
  }

  async load() {
    const saleId = this.saleId;
    try {
      const orders = await this.all(saleId);
      if (saleId !== this.saleId) return;
      this.render(orders);
    } catch (err) {
      setText(this.status, t("Could not load the orders: {reason}", { reason: errorText(err) }));
    }
  }

  render(orders) {
    const newest = [...orders].sort((a, b) => b.created_at - a.created_at);
    this.body.replaceChildren(
      ...newest.map((o) =>
        el(
          "tr",
          { dataset: { orderId: o.id } },
          el("td", { text: o.user_name || o.user_id }),
          el("td", { class: "num", text: formatCount(o.quantity) }),
          el("td", { class: "num", text: formatMoney(o.total, o.currency) }),
          el("td", { text: orderStatus(o.status) }),
          el("td", { text: formatTime(o.created_at) }),
        ),
      ),
    );
    const units = orders.reduce((n, o) => n + (o.status === "cancelled" || o.status === "expired" ? 0 : o.quantity), 0);
    setText(this.status, orders.length
      ? t("Orders: {orders} · units: {units} (updated {time}).", { orders: formatCount(orders.length), units: formatCount(units), time: formatTime(Date.now()) })
      : t("No orders yet."));
  }

  async download() {
    if (!this.saleId) return;
    try {
      const blob = new Blob([await this.allCsv(this.saleId)], { type: "text/csv;charset=utf-8" });
      const link = el("a", { href: URL.createObjectURL(blob), download: `${this.room}-${this.saleId}-orders.csv` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (err) {
      setText(this.status, t("Could not load the orders: {reason}", { reason: errorText(err) }));
    }
  }
}

/** The target of a `Link: <...>; rel="next"` header, or null. */
function nextLink(header) {
  const match = /<([^>]+)>\s*;\s*rel="next"/.exec(header || "");
  return match ? match[1] : null;
}
