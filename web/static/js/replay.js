// A replay: a past live session played from its recording (HLS, a VOD playlist), with a
// timeline of when each product was pinned and each flash sale ran (a click seeks there), the
// chat replayed beside the video at its moments, and the room's products to buy at their
// regular price (product.buy over the room channel, as in the room; the sales are over).

import { RoomChannel } from "./channel.js";
import { t } from "./i18n.js";
import { ProductShelf } from "./products.js";
import { $, el, errorText, notice, pageToken, setText } from "./ui.js";
import { HlsPlayback } from "./hls.js";

const room = document.body.dataset.room;
const session = decodeURIComponent(location.pathname.split("/").pop());
const token = pageToken();
const video = $("[data-replay-video]");
const timeline = $("[data-timeline]");
const chat = $("[data-replay-chat]");
const status = $("[data-replay-status]");

// Here to shop: the replay's watchers are not the live show's viewers.
const channel = new RoomChannel(room, { token, watch: "replay" });
new ProductShelf($("[data-products]"), channel);
channel.connect();

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function label(event) {
  switch (event.type) {
    case "product.pinned":
      return t("{product} shown", { product: event.product.name });
    case "sale.started":
      return t("Flash sale: {product}", { product: event.sale.product_name || event.sale.product_id });
    case "sale.ended":
    case "sale.sold_out":
    case "sale.cancelled":
      return t("Flash sale over: {product}", { product: event.sale.product_name || event.sale.product_id });
    default:
      return null;
  }
}

function showTimeline(events) {
  const marks = events.filter((e) => label(e));
  for (const event of marks) {
    const button = el("button", { type: "button", class: "btn btn-secondary btn-small" },
      el("span", { class: "timeline-time" }, clock(event.t)), label(event));
    button.addEventListener("click", () => {
      video.currentTime = event.t;
      video.play().catch(() => {});
    });
    timeline.append(el("li", { dataset: { t: String(event.t), type: event.type } }, button));
  }
  $("[data-timeline-empty]").hidden = marks.length > 0;
}

// The chat as it was: each message shown once the video passes its moment (and hidden again
// when the viewer seeks back before it).
function followChat(events) {
  const rows = [];
  const deleted = new Set(events.filter((e) => e.type === "chat.deleted").map((e) => e.message_id));
  for (const event of events) {
    if (event.type !== "chat.message" || deleted.has(event.message.id)) continue;
    const li = el("li", { class: "chat-item", hidden: true, dataset: { t: String(event.t) } },
      el("span", { class: "chat-name" }, event.message.name || ""), " ",
      el("span", { class: "chat-text" }, event.message.text || ""));
    chat.append(li);
    rows.push([event.t, li]);
  }
  const marks = [...timeline.children];
  const update = () => {
    const now = video.currentTime;
    for (const [at, li] of rows) li.hidden = at > now;
    let current = null;
    for (const li of marks) if (Number(li.dataset.t) <= now && li.dataset.type === "product.pinned") current = li;
    for (const li of marks) li.classList.toggle("is-current", li === current);
  };
  video.addEventListener("timeupdate", update);
  video.addEventListener("seeked", update);
}

async function start() {
  const query = token ? `?token=${encodeURIComponent(token)}` : "";
  const response = await fetch(`/api/rooms/${encodeURIComponent(room)}/replays/${encodeURIComponent(session)}`,
    { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const body = await response.json();
  if (!response.ok) {
    notice(status, errorText(body.error || {}), "error");
    return;
  }
  setText($("[data-replay-when]"), new Date(body.started_at * 1000).toLocaleString());
  showTimeline(body.timeline);
  followChat(body.timeline);
  video.dataset.duration = String(body.duration);
  await new HlsPlayback(video, body.playlist + query).start();
}

start().catch((err) => notice(status, errorText(err), "error"));
