// The lobby: a card per room from GET /api/rooms, refreshed every few seconds. Cards are kept
// and updated in place, so a refresh never moves keyboard focus.

import { $, el, flagEmoji, formatCount, formatPrice, notice, setText } from "./ui.js";

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
      live: el("span", { class: "live-badge", text: "Live", hidden: true }),
      pin: el("div", { class: "room-card-pin" }),
      pinKey: null,
    };
    c.link.append(el("h2", { class: "room-card-heading" }, c.flag, " ", c.title, c.country));
    c.li.append(c.link, c.host, el("p", { class: "room-card-stats" }, el("span", { class: "live-dot", "aria-hidden": "true" }), c.viewers, c.live), c.pin);
    cards.set(room.id, c);
  }
  setText(c.flag, flagEmoji(room.country_code));
  setText(c.title, room.title);
  setText(c.country, ` (${room.country})`);
  setText(c.host, room.host_name ? `Hosted by ${room.host_name}` : "");
  setText(c.viewers, `${formatCount(room.viewers)} watching`);
  c.live.hidden = !room.live; // live video: the host (or the demo host) is streaming
  c.li.dataset.live = room.live ? "true" : "false";
  const pin = room.pin;
  const key = pin ? JSON.stringify([pin.id, pin.name, pin.price, pin.currency, pin.image]) : "";
  if (key !== c.pinKey) {
    c.pinKey = key;
    c.pin.replaceChildren(
      ...(pin
        ? [
            pin.image ? el("img", { class: "product-thumb", src: pin.image, alt: "", width: 56, height: 56 }) : null,
            el("span", { class: "room-card-pin-text" },
              el("span", { class: "room-card-pin-label muted", text: "Pinned now" }),
              el("span", { class: "room-card-pin-name", text: pin.name }),
              el("span", { class: "room-card-pin-price", text: formatPrice(pin.price, pin.currency) })),
          ]
        : [el("span", { class: "muted", text: "No product pinned" })]),
    );
  }
  return c.li;
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
    notice(status, `Could not load the rooms (${err.message}); retrying…`, "warn");
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

refresh();
setInterval(() => {
  if (!document.hidden) refresh();
}, REFRESH_MS);
document.addEventListener("visibilitychange", () => !document.hidden && refresh());
