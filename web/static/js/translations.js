// The console's translations: the room's title and description, and each product's name and
// description, in another language. What is saved is what viewers of that language see (the
// original where a field has none). Saved over REST with the console link's token.

import { t } from "./i18n.js";
import { $, el, errorText, notice, setText } from "./ui.js";

export class Translations {
  constructor(root, { room, token, channel }) {
    this.room = room;
    this.token = token;
    this.form = $("[data-translate-form]", root);
    this.lang = $("[data-translate-lang]", root);
    this.what = $("[data-translate-what]", root);
    this.name = $("[data-translate-name]", root);
    this.nameLabel = $("[data-translate-name-label]", root);
    this.description = $("[data-translate-description]", root);
    this.original = $("[data-translate-original]", root);
    this.status = $("[data-form-status]", this.form);
    this.record = null; // the room
    this.products = new Map();
    channel.on("snapshot", (snap) => this.setRoom(snap.room));
    channel.on("room.updated", (event) => this.setRoom(event.room));
    const picked = () => (this.fill(), notice(this.status, ""));
    this.lang.addEventListener("change", picked);
    this.what.addEventListener("change", picked);
    this.form.addEventListener("submit", (ev) => (ev.preventDefault(), this.save()));
  }

  setRoom(room) {
    this.record = room;
    this.options();
  }

  setProducts(products) {
    this.products = new Map(products.map((p) => [p.id, p]));
    this.options();
  }

  options() {
    const current = this.what.value || "room";
    this.what.replaceChildren(
      el("option", { value: "room", text: t("The room: {title}", { title: this.record?.title || this.room }) }),
      ...[...this.products.values()].map((p) => el("option", { value: `product:${p.id}`, text: p.name })),
    );
    this.what.value = [...this.what.options].some((o) => o.value === current) ? current : "room";
    // Products change often (every purchase moves the stock): never wipe what is being typed.
    if (!this.form.contains(document.activeElement)) this.fill();
  }

  target() {
    const value = this.what.value;
    if (value.startsWith("product:")) {
      const product = this.products.get(value.slice(8));
      return product && { record: product, field: "name", url: `/api/rooms/${encodeURIComponent(this.room)}/products/${encodeURIComponent(product.id)}` };
    }
    return this.record && { record: this.record, field: "title", url: `/api/rooms/${encodeURIComponent(this.room)}` };
  }

  fill() {
    const target = this.target();
    if (!target) return;
    const texts = target.record.translations?.[this.lang.value] || {};
    setText(this.nameLabel, target.field === "title" ? t("Title") : t("Name"));
    this.name.value = texts[target.field] || "";
    this.description.value = texts.description || "";
    setText(this.original, t("Original: {text}", { text: target.record[target.field] }));
  }

  async save() {
    const target = this.target();
    if (!target) return;
    const body = { translations: { [this.lang.value]: { [target.field]: this.name.value.trim(), description: this.description.value.trim() } } };
    const button = $("button[type=submit]", this.form);
    button.disabled = true;
    try {
      const response = await fetch(target.url, {
        method: "PATCH",
        headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const answer = await response.json();
      if (!response.ok) throw Object.assign(new Error(answer.error?.code), { code: answer.error?.code, frame: answer.error });
      notice(this.status, t("Saved. Viewers reading this language see it now."), "ok");
    } catch (err) {
      notice(this.status, errorText(err), "error");
    } finally {
      button.disabled = false;
    }
  }
}
