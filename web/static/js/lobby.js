// The lobby: a card per room from GET /api/rooms, refreshed every few seconds: flag, title,
// host, live or offline, viewers, the pinned product and the flash sale that is on or next.
// Cards are kept and updated in place, so a refresh never moves keyboard focus.

import { t } from "./i18n.js";
import { convertedText, formatMoney, priceText } from "./money.js";
import { formatDuration } from "./sales.js";
import { $, el, flagEmoji, formatCount, notice, setText } from "./ui.js";

const REFRESH_MS = 4000;
const list = $("[data-rooms]");
const empty = $("[data-rooms-empty]");
const status = $("[data-lobby-status]");
const cards = new Map();

function card(room) {
  let c = cards.get(room.id);
  if (!c) {
    c = {
      li: el("li", { class: "room-card", dataset: { roomId: room.id } }),
      link: el("a", { class: "room-card-link", href: `/rooms/${encodeURIComponent(room.id)}` }),
      flag: el("span", { class: "flag", "aria-hidden": "true" }),
      title: el("span", { class: "room-card-title" }),
      country: el("span", { class: "visually-hidden" }),
      host: el("p", { class: "room-card-host muted" }),
      viewers: el("span", { class: "room-card-viewers" }),
      live: el("span", { class: "live-badge", text: t("Live"), hidden: true }),
      offline: el("span", { class: "offline-badge", text: t("Offline") }),
      sale: el("p", { class: "room-card-sale", hidden: true }),
      pin: el("div", { class: "room-card-pin" }),
      pinKey: null,
    };
    c.link.append(el("h2", { class: "room-card-heading" }, c.flag, " ", c.title, c.country));
    c.li.append(
      c.link,
      c.host,
      el("p", { class: "room-card-stats" }, el("span", { class: "live-dot", "aria-hidden": "true" }), c.viewers, c.live, c.offline),
      c.sale,
      c.pin,
    );
    cards.set(room.id, c);
  }
  setText(c.flag, flagEmoji(room.country_code));
  setText(c.title, room.title);
  setText(c.country, ` (${room.country})`);
  setText(c.host, room.host_name ? t("Hosted by {name}", { name: room.host_name }) : "");
  setText(c.viewers, t("{count} watching", { count: formatCount(room.viewers) }));
  c.live.hidden = !room.live; // live video: the host (or the demo host) is streaming
  c.offline.hidden = Boolean(room.live);
  c.li.dataset.live = room.live ? "true" : "false";
  showSale(c, room.sales || []);
  const pin = room.pin;
  const key = pin ? JSON.stringify([pin.id, pin.name, pin.price, pin.currency, pin.image]) : "";
  if (key !== c.pinKey) {
    c.pinKey = key;
    c.pin.replaceChildren(
      ...(pin
        ? [
            pin.image ? el("img", { class: "product-thumb", src: pin.image, alt: "", width: 56, height: 56 }) : null,
            el("span", { class: "room-card-pin-text" },
              el("span", { class: "room-card-pin-label muted", text: t("Pinned now") }),
              el("span", { class: "room-card-pin-name", text: pin.name }),
              el("span", { class: "room-card-pin-price", text: priceText(pin.price, pin.currency) })),
          ]
        : [el("span", { class: "muted", text: t("No product pinned") })]),
    );
  }
  return c.li;
}

/** The sale worth telling about: one that is live, else the next to start. */
function showSale(c, sales) {
  const open = sales.filter((s) => s.state === "live" || s.state === "sold_out" || s.state === "scheduled");
  const live = open.find((s) => s.state === "live") || open.find((s) => s.state === "sold_out");
  const next = open.filter((s) => s.state === "scheduled").sort((a, b) => a.starts_at - b.starts_at)[0];
  const sale = live || next;
  c.li.dataset.sale = sale ? sale.state : "none";
  if (!sale) {
    c.sale.hidden = true;
    return;
  }
  const product = sale.product?.name || sale.product_id;
  const other = convertedText(sale.price, sale.currency, sale.rates); // the sale's own rates
  const price = other ? `${formatMoney(sale.price, sale.currency)} (${other})` : formatMoney(sale.price, sale.currency);
  let text;
  if (sale.state === "live") text = t("Flash sale now: {product} at {price}, {remaining} left", { product, price, remaining: sale.remaining });
  else if (sale.state === "sold_out") text = t("Flash sale sold out: {product}", { product });
  else text = t("Flash sale in {time}: {product} at {price}", { time: formatDuration(sale.starts_at - Date.now()), product, price });
  setText(c.sale, text);
  c.sale.dataset.state = sale.state;
  c.sale.hidden = false;
}

async function refresh() {
  try {
    const response = await fetch("/api/rooms", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const { rooms } = await response.json();
    const items = rooms.map(card);
    const ids = new Set(rooms.map((r) => r.id));
    for (const [id, c] of cards) if (!ids.has(id)) (c.li.remove(), cards.delete(id));
    items.forEach((li, i) => {
      if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null);
    });
    empty.hidden = rooms.length > 0;
    notice(status, "");
  } catch (err) {
    notice(status, t("Could not load the rooms ({reason}); retrying…", { reason: err.message }), "warn");
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

refresh();
setInterval(() => {
  if (!document.hidden) refresh();
}, REFRESH_MS);
document.addEventListener("visibilitychange", () => !document.hidden && refresh());
