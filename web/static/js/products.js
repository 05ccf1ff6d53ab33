// Products: the pinned product card viewers see, and the product list with Pin buttons that
// the host studio and the moderator console share.

import { t } from "./i18n.js";
import { convertedText, formatMoney, priceText } from "./money.js";
import { $, el, formatCount, notice, setText } from "./ui.js";

function productImage(product, className) {
  if (!product.image) return el("div", { class: `${className} image-missing`, "aria-hidden": "true" });
  return el("img", { class: className, src: product.image, alt: "", width: 160, height: 160, loading: "lazy" });
}

/** The pinned product, as a viewer sees it; null shows that nothing is pinned. */
export function renderPinned(container, product) {
  if (!product) {
    container.replaceChildren(el("p", { class: "muted pinned-empty", text: t("No product pinned right now.") }));
    return;
  }
  const converted = convertedText(product.price, product.currency);
  container.replaceChildren(
    el(
      "article",
      { class: "product-card", "aria-labelledby": "pinned-name", dataset: { productId: product.id } },
      productImage(product, "product-image"),
      el(
        "div",
        { class: "product-body" },
        el("h3", { class: "product-name", id: "pinned-name", text: product.name }),
        el("p", { class: "product-price", text: formatMoney(product.price, product.currency) }),
        converted ? el("p", { class: "product-price-converted muted", text: converted }) : null,
        product.origin ? el("p", { class: "product-origin", text: t("Origin: {country}", { country: product.origin }) }) : null,
        product.description ? el("p", { class: "product-description", text: product.description }) : null,
        el("p", {
          class: "product-stock muted",
          text: product.stock > 0 ? t("{count} in stock", { count: formatCount(product.stock) }) : t("Sold out"),
        }),
      ),
    ),
  );
}

/**
 * The room's products with Pin buttons and an Unpin button, kept current with product.* events.
 * The snapshot carries the list; product events keep it current between snapshots.
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
      const image = productImage(product, "product-thumb");
      if (row.image) row.image.replaceWith(image);
      else row.li.prepend(image);
      row.image = image;
      row.imageSrc = product.image;
    }
    setText(row.name, product.name);
    const stock = t("{count} in stock", { count: formatCount(product.stock) });
    setText(row.detail, `${priceText(product.price, product.currency)} · ${stock}`);
    const pinned = product.id === this.pinned;
    setText(row.button, pinned ? t("Pinned") : t("Pin"));
    row.button.disabled = pinned;
    row.button.setAttribute("aria-label", pinned ? t("{product} is pinned", { product: product.name }) : t("Pin {product}", { product: product.name }));
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
