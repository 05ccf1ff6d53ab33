// Products: the pinned product card and the room's product list viewers buy from (at the
// product's own price, outside any flash sale), and the list with Pin buttons that the host
// studio and the moderator console share. Names and descriptions are shown in the page's
// language when the product has them (localized).

import { buyErrorText, orderText, payLink, Presses, signInLink } from "./buying.js";
import { localized, onLanguage, t } from "./i18n.js";
import { convertedText, formatMoney, priceText } from "./money.js";
import { $, el, formatCount, notice, setText } from "./ui.js";

function productImage(product, className, size = 160) {
  if (!product.image) return el("div", { class: `${className} image-missing`, "aria-hidden": "true" });
  return el("img", { class: className, src: product.image, alt: "", width: size, height: size, loading: "lazy" });
}

function stockText(product) {
  return product.stock > 0 ? t("{count} in stock", { count: formatCount(product.stock) }) : t("Sold out");
}

/** Who may buy on this page: a signed-in viewer; guests are sent to sign in, staff may not. */
export function buyer(you) {
  if (!you) return { canBuy: false, reason: "" };
  if (you.guest) return { canBuy: false, signIn: true, reason: t("Sign in to buy: open the shopping link you were sent. Guests can watch and chat.") };
  if (you.role !== "viewer") return { canBuy: false, reason: t("Staff cannot buy.") };
  return { canBuy: true, reason: "" };
}

/**
 * Quantity, Buy, and the answer, for one product at its own price. `onOrder(order)` hears a
 * new order (my orders).
 */
class ProductBuy {
  constructor(product, channel, { onOrder }) {
    this.product = product;
    this.channel = channel;
    this.onOrder = onOrder;
    this.presses = new Presses(channel, "product.buy", { product_id: product.id });
    this.busy = false;
    const id = `buy-${product.id}-${Math.random().toString(36).slice(2, 8)}`;
    this.quantity = el("input", { type: "number", min: 1, value: 1, inputmode: "numeric", id, class: "buy-qty" });
    this.label = el("label", { for: id, class: "buy-qty-label" });
    this.button = el("button", { type: "submit", class: "btn btn-buy" });
    this.note = el("p", { class: "buy-note", hidden: true });
    this.result = el("div", { class: "notice buy-result", role: "status", hidden: true });
    this.form = el("form", { class: "buy-form", on: { submit: (ev) => (ev.preventDefault(), this.buy()) } },
      this.label, this.quantity, this.button);
    this.root = el("div", { class: "product-buy" }, this.form, this.note, this.result);
    this.quantity.addEventListener("input", () => this.update());
    this.update();
  }

  wanted() {
    const n = Math.floor(Number(this.quantity.value));
    return Number.isFinite(n) && n >= 1 ? n : 1;
  }

  setProduct(product) {
    this.product = product;
    this.update();
  }

  update() {
    const who = buyer(this.channel.you);
    const inStock = this.product.stock > 0;
    const name = localized(this.product).name;
    setText(this.label, t("Quantity"));
    this.quantity.max = String(Math.max(1, Math.min(this.product.stock, 1000)));
    this.quantity.disabled = !who.canBuy || !inStock;
    this.button.disabled = !who.canBuy || !inStock || this.busy;
    const retry = this.presses.retrying(this.wanted());
    setText(this.button, this.busy ? t("Buying…") : retry ? t("Try again") : inStock ? t("Buy") : t("Sold out"));
    this.button.setAttribute("aria-label", `${this.button.textContent}: ${name}`);
    const signIn = who.signIn ? signInLink() : null;
    this.form.hidden = Boolean(signIn);
    if (signIn) {
      this.note.replaceChildren(signIn);
      this.note.hidden = false;
    } else {
      notice(this.note, who.canBuy ? "" : who.reason);
    }
  }

  async buy() {
    if (this.busy) return;
    this.busy = true;
    this.update();
    notice(this.result, "");
    try {
      const ack = await this.presses.buy(this.wanted(), {
        onRetry: () => notice(this.result, t("Connection trouble: trying again…"), "warn"),
      });
      this.showOrder(ack.order);
      if (this.onOrder) this.onOrder(ack.order);
    } catch (err) {
      notice(this.result, buyErrorText(err), "error");
    }
    this.busy = false;
    this.update();
  }

  showOrder(order) {
    this.result.replaceChildren(...[el("p", { text: orderText(order, undefined, localized(this.product).name) }), payLink(order)].filter(Boolean));
    this.result.dataset.kind = "ok";
    this.result.hidden = false;
  }
}

/** The pinned product, as a viewer sees it (with Buy); null shows that nothing is pinned. */
export class PinnedCard {
  constructor(container, channel, { onOrder = null } = {}) {
    this.container = container;
    this.channel = channel;
    this.onOrder = onOrder;
    this.product = null;
    this.buying = null;
    onLanguage(() => this.render());
    channel.on("welcome", () => this.buying?.update());
  }

  show(product) {
    const same = this.product && product && this.product.id === product.id;
    this.product = product;
    if (same && this.buying) {
      this.buying.setProduct(product);
      this.fill();
      return;
    }
    this.render();
  }

  render() {
    const product = this.product;
    this.container.closest("[data-pinned-panel]")?.toggleAttribute("data-empty", !product);
    if (!product) {
      this.buying = null;
      this.container.replaceChildren(el("p", { class: "muted pinned-empty", text: t("No product pinned right now.") }));
      return;
    }
    this.buying = new ProductBuy(product, this.channel, { onOrder: this.onOrder });
    this.parts = {
      name: el("h3", { class: "product-name", id: "pinned-name" }),
      price: el("span", { class: "product-price" }),
      converted: el("span", { class: "product-price-converted muted" }),
      origin: el("p", { class: "product-origin" }),
      description: el("p", { class: "product-description" }),
      stock: el("p", { class: "product-stock muted" }),
    };
    const p = this.parts;
    this.container.replaceChildren(
      el("article", { class: "product-card", "aria-labelledby": "pinned-name", dataset: { productId: product.id } },
        productImage(product, "product-image"),
        el("div", { class: "product-body" },
          p.name, el("p", { class: "product-prices" }, p.price, " ", p.converted), p.origin, p.description, p.stock,
          this.buying.root)),
    );
    this.fill();
  }

  fill() {
    const product = localized(this.product);
    const p = this.parts;
    setText(p.name, product.name);
    setText(p.price, formatMoney(product.price, product.currency));
    setText(p.converted, convertedText(product.price, product.currency));
    setText(p.origin, product.origin ? t("Origin: {country}", { country: product.origin }) : "");
    p.origin.hidden = !product.origin;
    setText(p.description, product.description || "");
    p.description.hidden = !product.description;
    setText(p.stock, stockText(product));
    this.buying.update();
  }
}

/** The room's products for viewers (the phone's product sheet, a column on a desktop): each
 * with its price, stock and Buy. */
export class ProductShelf {
  constructor(list, channel, { onOrder = null } = {}) {
    this.list = list;
    this.channel = channel;
    this.onOrder = onOrder;
    this.products = new Map();
    this.rows = new Map();
    channel.on("snapshot", (snap) => {
      this.products = new Map(snap.products.map((p) => [p.id, p]));
      this.render();
    });
    channel.on("product.added", (e) => this.put(e.product));
    channel.on("product.updated", (e) => this.put(e.product));
    channel.on("product.pinned", (e) => this.products.has(e.product.id) && this.put(e.product));
    channel.on("product.removed", (e) => (this.products.delete(e.product_id), this.render()));
    channel.on("welcome", () => this.rows.forEach((row) => row.buying.update()));
    onLanguage(() => this.rows.forEach((row, id) => this.fill(row, this.products.get(id))));
  }

  put(product) {
    this.products.set(product.id, product);
    this.render();
  }

  row(product) {
    let row = this.rows.get(product.id);
    if (!row) {
      row = {
        li: el("li", { class: "shelf-item", dataset: { productId: product.id } }),
        name: el("h3", { class: "shelf-name" }),
        price: el("p", { class: "shelf-price" }),
        stock: el("p", { class: "shelf-stock muted" }),
        buying: new ProductBuy(product, this.channel, { onOrder: this.onOrder }),
      };
      row.li.append(productImage(product, "product-thumb", 56),
        el("div", { class: "shelf-body" }, row.name, row.price, row.stock, row.buying.root));
      this.rows.set(product.id, row);
    }
    row.buying.setProduct(product);
    this.fill(row, product);
    return row.li;
  }

  fill(row, product) {
    const text = localized(product);
    setText(row.name, text.name);
    setText(row.price, priceText(product.price, product.currency));
    setText(row.stock, stockText(product));
    row.buying.update();
  }

  render() {
    const items = [...this.products.values()].map((p) => this.row(p));
    for (const [id, row] of this.rows) if (!this.products.has(id)) (row.li.remove(), this.rows.delete(id));
    items.forEach((li, i) => {
      if (this.list.children[i] !== li) this.list.insertBefore(li, this.list.children[i] || null);
    });
  }
}

/**
 * The room's products with Pin buttons and an Unpin button, kept current with product.* events
 * (the studio and the console).
 */
export class ProductPanel {
  /** onProducts(products) hears every change of the list (the console's sale form uses it). */
  constructor(root, channel, { onError, onProducts = null }) {
    this.list = $("[data-products]", root);
    this.unpin = $("[data-unpin]", root);
    this.status = $("[data-products-status]", root);
    this.channel = channel;
    this.onError = onError;
    this.onProducts = onProducts;
    this.products = new Map();
    this.rows = new Map();
    this.pinned = null;
    this.unpin.addEventListener("click", () => this.run("product.unpin", {}, this.unpin));

    // The snapshot carries the room's products; product events keep them current after it.
    channel.on("snapshot", (snap) => {
      this.pinned = snap.pin ? snap.pin.id : null;
      this.products = new Map(snap.products.map((p) => [p.id, p]));
      notice(this.status, this.products.size ? "" : t("This room has no products yet."));
      this.render();
    });
    for (const type of ["product.added", "product.updated", "product.removed", "product.pinned", "product.unpinned"]) {
      channel.on(type, (event) => {
        this.apply(event);
        this.render();
      });
    }
    onLanguage(() => this.render());
  }

  apply(event) {
    switch (event.type) {
      case "product.added":
      case "product.updated":
        this.products.set(event.product.id, event.product);
        break;
      case "product.removed":
        this.products.delete(event.product_id);
        break;
      case "product.pinned":
        this.pinned = event.product.id;
        if (this.products.has(event.product.id)) this.products.set(event.product.id, event.product);
        break;
      case "product.unpinned":
        this.pinned = null;
        break;
    }
  }

  async run(cmd, fields, button) {
    button.disabled = true;
    try {
      await this.channel.command(cmd, fields);
    } catch (err) {
      this.onError(err, cmd);
    } finally {
      this.render(); // puts the buttons back as the pin state says
    }
  }

  row(product) {
    let row = this.rows.get(product.id);
    if (!row) {
      const button = el("button", { type: "button", class: "btn btn-small" });
      button.addEventListener("click", () => this.run("product.pin", { product_id: product.id }, button));
      row = {
        li: el("li", { class: "product-row", dataset: { productId: product.id } }),
        name: el("span", { class: "product-row-name" }),
        detail: el("span", { class: "product-row-detail muted" }),
        image: null,
        imageSrc: null,
        button,
      };
      row.li.append(el("span", { class: "product-row-text" }, row.name, row.detail), button);
      this.rows.set(product.id, row);
    }
    if (row.imageSrc !== product.image) {
      const image = productImage(product, "product-thumb", 48);
      if (row.image) row.image.replaceWith(image);
      else row.li.prepend(image);
      row.image = image;
      row.imageSrc = product.image;
    }
    const name = localized(product).name;
    setText(row.name, name);
    setText(row.detail, `${priceText(product.price, product.currency)} · ${stockText(product)}`);
    const pinned = product.id === this.pinned;
    setText(row.button, pinned ? t("Pinned") : t("Pin"));
    row.button.disabled = pinned;
    row.button.setAttribute("aria-label", pinned ? t("{product} is pinned", { product: name }) : t("Pin {product}", { product: name }));
    row.li.classList.toggle("is-pinned", pinned);
    return row.li;
  }

  render() {
    const items = [...this.products.values()].map((p) => this.row(p));
    for (const [id, row] of this.rows) if (!this.products.has(id)) (row.li.remove(), this.rows.delete(id));
    // Append in order; moving a node that is already in place keeps focus where it was.
    items.forEach((li, i) => {
      if (this.list.children[i] !== li) this.list.insertBefore(li, this.list.children[i] || null);
    });
    this.unpin.disabled = this.pinned === null;
    if (this.onProducts) this.onProducts([...this.products.values()]);
  }
}
