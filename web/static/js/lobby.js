// The lobby: a card per room, kept current by the server's live feed of the rooms (Server-Sent
// Events from /api/lobby/events: the list, then each room as it changes), never by polling.
// Each card: a still of the live video (refreshed every few seconds while live) or the room's
// colours, the host's initials, name and viewers, and the flash sale that is on or next, or the
// pinned product. Cards are kept and updated in place, so an update never moves keyboard focus.

import { localized, t } from "./i18n.js";
import { convertedText, formatMoney, priceText } from "./money.js";
import { formatDuration } from "./sales.js";
import { $, el, flagEmoji, formatCount, initials, notice, setText } from "./ui.js";

const THUMBNAIL_EVERY_MS = 4000;
const list = $("[data-rooms]");
const empty = $("[data-rooms-empty]");
const status = $("[data-lobby-status]");
const cards = new Map();
const rooms = new Map();

function card(room) {
  let c = cards.get(room.id);
  if (!c) {
    c = {
      li: el("li", { class: "room-card", dataset: { roomId: room.id } }),
      link: el("a", { class: "room-card-link", href: `/rooms/${encodeURIComponent(room.id)}` }),
      thumb: el("div", { class: "room-thumb" }),
      image: el("img", { class: "room-thumb-image", alt: "", width: 480, height: 270, hidden: true }),
      placeholder: el("span", { class: "room-thumb-flag", "aria-hidden": "true" }),
      live: el("span", { class: "live-badge", text: t("Live"), hidden: true }),
      viewers: el("span", { class: "room-card-viewers" }),
      avatar: el("span", { class: "avatar", "aria-hidden": "true" }),
      flag: el("span", { class: "flag", "aria-hidden": "true" }),
      title: el("span", { class: "room-card-title" }),
      country: el("span", { class: "visually-hidden" }),
      host: el("p", { class: "room-card-host muted" }),
      offline: el("span", { class: "offline-badge", text: t("Offline") }),
      sale: el("p", { class: "room-card-sale" }),
      pin: el("div", { class: "room-card-pin" }),
      pinKey: null,
    };
    c.image.addEventListener("load", () => (c.image.hidden = false));
    c.image.addEventListener("error", () => (c.image.hidden = true));
    c.thumb.append(c.placeholder, c.image, el("span", { class: "room-thumb-badges" }, c.live, c.offline), c.viewers);
    c.link.append(
      c.thumb,
      el("div", { class: "room-card-body" },
        el("div", { class: "room-card-host-row" }, c.avatar,
          el("div", { class: "room-card-names" },
            el("h2", { class: "room-card-heading" }, c.flag, " ", c.title, c.country), c.host)),
        c.sale,
        c.pin),
    );
    c.li.append(c.link);
    cards.set(room.id, c);
  }
  const text = localized(room);
  setText(c.flag, flagEmoji(room.country_code));
  setText(c.placeholder, flagEmoji(room.country_code));
  setText(c.title, text.title);
  setText(c.country, ` (${room.country})`);
  setText(c.avatar, initials(text.host_name || text.title));
  setText(c.host, text.host_name ? t("Hosted by {name}", { name: text.host_name }) : "");
  setText(c.viewers, t("{count} watching", { count: formatCount(room.viewers) }));
  c.live.hidden = !room.live; // live video: the host (or the demo host) is streaming
  c.offline.hidden = Boolean(room.live);
  c.li.dataset.live = room.live ? "true" : "false";
  c.thumb.dataset.country = room.country_code || "";
  if (room.live) refreshThumbnail(c, room.id);
  else c.image.hidden = true;
  showSale(c, room.sales || []);
  showPin(c, room.pin);
  return c.li;
}

function refreshThumbnail(c, id) {
  const slot = Math.floor(Date.now() / THUMBNAIL_EVERY_MS);
  if (c.thumbSlot === slot) return;
  c.thumbSlot = slot;
  c.image.src = `/rooms/${encodeURIComponent(id)}/thumbnail.jpg?t=${slot}`;
}

function showPin(c, pin) {
  const key = pin ? JSON.stringify([pin.id, pin.price, pin.currency, pin.image, localized(pin).name]) : "";
  if (key === c.pinKey) return;
  c.pinKey = key;
  c.pin.replaceChildren(
    ...(pin
      ? [
          pin.image ? el("img", { class: "product-thumb", src: pin.image, alt: "", width: 48, height: 48 }) : null,
          el("span", { class: "room-card-pin-text" },
            el("span", { class: "room-card-pin-label muted", text: t("Pinned now") }),
            el("span", { class: "room-card-pin-name", text: localized(pin).name }),
            el("span", { class: "room-card-pin-price", text: priceText(pin.price, pin.currency) })),
        ]
      : [el("span", { class: "muted", text: t("No product pinned") })]),
  );
}

/** The sale worth telling about: one that is live, else the next to start. */
function showSale(c, sales) {
  const open = sales.filter((s) => s.state === "live" || s.state === "sold_out" || s.state === "scheduled");
  const live = open.find((s) => s.state === "live") || open.find((s) => s.state === "sold_out");
  const next = open.filter((s) => s.state === "scheduled").sort((a, b) => a.starts_at - b.starts_at)[0];
  const sale = live || next;
  c.li.dataset.sale = sale ? sale.state : "none";
  c.sale.dataset.state = sale ? sale.state : "none";
  c.saleShown = sale || null;
  if (!sale) {
    setText(c.sale, t("No flash sale right now"));
    return;
  }
  const product = localized(sale.product || {}).name || sale.product_id;
  const other = convertedText(sale.price, sale.currency, sale.rates); // the sale's own rates
  const price = other ? `${formatMoney(sale.price, sale.currency)} (${other})` : formatMoney(sale.price, sale.currency);
  let text;
  if (sale.state === "live") text = t("Flash sale now: {product} at {price}, {remaining} left", { product, price, remaining: sale.remaining });
  else if (sale.state === "sold_out") text = t("Flash sale sold out: {product}", { product });
  else text = t("Flash sale in {time}: {product} at {price}", { time: formatDuration(sale.starts_at - Date.now()), product, price });
  setText(c.sale, text);
}

function render() {
  const items = [...rooms.values()].map(card);
  for (const [id, c] of cards) if (!rooms.has(id)) (c.li.remove(), cards.delete(id));
  items.forEach((li, i) => {
    if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null);
  });
  empty.hidden = rooms.size > 0;
  list.setAttribute("aria-busy", "false");
}

// --- the live feed ----------------------------------------------------------------------------
const feed = new EventSource("/api/lobby/events");
feed.addEventListener("rooms", (ev) => {
  const listed = JSON.parse(ev.data).rooms;
  rooms.clear();
  for (const room of listed) rooms.set(room.id, room);
  render();
  notice(status, "");
});
feed.addEventListener("room", (ev) => {
  const room = JSON.parse(ev.data);
  rooms.set(room.id, room);
  render();
});
feed.addEventListener("removed", (ev) => {
  rooms.delete(JSON.parse(ev.data).id);
  render();
});
feed.addEventListener("error", () => {
  // The browser reconnects by itself; say so while it does.
  if (feed.readyState !== EventSource.OPEN) notice(status, t("Reconnecting…"), "warn");
});
feed.addEventListener("open", () => notice(status, ""));

// Countdowns and stills move on their own between events.
setInterval(() => {
  if (document.hidden) return;
  for (const [id, c] of cards) {
    const room = rooms.get(id);
    if (!room) continue;
    if (c.saleShown?.state === "scheduled") showSale(c, room.sales || []);
    if (room.live) refreshThumbnail(c, id);
  }
}, 1000);

// Past sessions: the newest replays of the public rooms, each a link to its replay page.
async function listReplays() {
  const response = await fetch("/api/replays");
  if (!response.ok) return;
  const { replays } = await response.json();
  $("[data-replays]").replaceChildren(...replays.map((replay) => {
    const minutes = Math.max(1, Math.round(replay.duration / 60));
    const when = new Date(replay.started_at * 1000).toLocaleString();
    return el("li", {}, el("a", { href: replay.page },
      `${replay.title} · ${t("{when} · {minutes} min", { when, minutes })}`));
  }));
  $("[data-replays-panel]").hidden = replays.length === 0;
}
listReplays().catch(() => {});
