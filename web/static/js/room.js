// The viewer room: live video with chat over it on a phone, the flash sale and the pinned
// product as cards, a bar to chat, like (hearts float up the video), share and open the
// room's products; buying in a sale or outside one, my orders and paying; and what moderation
// does to this viewer (deleted messages, mute, ban, slow mode). The page switches language in
// place, so the video never restarts.

import { RoomChannel } from "./channel.js";
import { Hearts } from "./hearts.js";
import { onLanguage, pageData, switchLanguage, t } from "./i18n.js";
import { LivePlayer } from "./media.js";
import { setViewerCurrency } from "./money.js";
import { MyOrders } from "./orders.js";
import { PinnedCard, ProductShelf } from "./products.js";
import { ChatForm, ChatView, bindRoomHeader } from "./roomview.js";
import { SalePanel } from "./sale.js";
import { SaleBook } from "./sales.js";
import { $, el, errorText, formatTime, notice, pageToken, setText } from "./ui.js";

const NAME_KEY = "liveroom.name";
const MAX_LIKES_PER_COMMAND = 100;

const room = document.body.dataset.room;
const channel = new RoomChannel(room, { token: pageToken() });

const nameForm = $("[data-name-form]");
const chatFormEl = $("[data-chat-form]");
const chatOff = $("[data-chat-off]");
const roomNotice = $("[data-room-notice]");
const slowNotice = $("[data-slow-mode]");
const likeButton = $("[data-like]");

let slowMode = 0;
let muteTimer = null;
let closed = false;
let renaming = Promise.resolve();

function savedName() {
  try {
    return localStorage.getItem(NAME_KEY);
  } catch {
    return null;
  }
}

function saveName(name) {
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch {
    /* storage disabled: the name is asked again next visit */
  }
}

// --- chat ----------------------------------------------------------------------------------
new ChatView($("[data-chat]"), { empty: $("[data-chat-empty]") }).follow(channel);

const chatForm = new ChatForm(chatFormEl, channel, {
  ready: () => renaming,
  onSent() {
    // Viewers may send one message every `slowMode` seconds: count down instead of failing.
    if (slowMode > 0 && channel.you?.role === "viewer") chatForm.waitFor(slowMode * 1000);
  },
  onError(err) {
    if (err.code === "name_required") {
      channel.you = { ...channel.you, name: null };
      showForms();
    } else if (err.code === "muted" && err.frame.until) {
      showMuted(err.frame.until);
    }
  },
});

function showForms() {
  const you = channel.you;
  const canChat = Boolean(you && you.name) && !closed;
  const needsName = Boolean(you && !you.name && you.guest) && !closed;
  chatFormEl.hidden = !canChat;
  nameForm.hidden = !needsName;
  const noName = you && !you.name && !you.guest && !closed;
  notice(chatOff, noName ? t("Your access link has no display name: you can watch, but not chat.") : "");
}

nameForm.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const input = $("input", nameForm);
  const status = $("[data-form-status]", nameForm);
  const name = input.value.trim();
  if (!name) return;
  try {
    const ack = await channel.command("profile.set", { name });
    channel.keepGuestToken(ack.guest_token); // the name now rides along on every reconnect
    saveName(ack.name);
    channel.you = { ...channel.you, name: ack.name };
    notice(status, "");
    showForms();
    $("input", chatFormEl).focus();
  } catch (err) {
    notice(status, errorText(err), "error");
  }
});

// A guest token from before the name was chosen (or from another page) has no name: set it
// again on (re)connection. Messages typed meanwhile wait for it (the chat form's `ready`).
async function restoreName() {
  const you = channel.you;
  const name = savedName();
  if (you && you.guest && !you.name && name) {
    try {
      const ack = await channel.command("profile.set", { name });
      channel.you = { ...you, name: ack.name };
    } catch {
      /* the name form is shown instead */
    }
  }
  showForms();
}

channel.on("status", (status) => {
  if (status.state === "open") renaming = restoreName();
});

// --- moderation as this viewer sees it -----------------------------------------------------
function showMuted(until) {
  clearTimeout(muteTimer);
  notice(roomNotice, t("A moderator muted you until {time}. You can still watch and like.", { time: formatTime(until) }), "warn");
  muteTimer = setTimeout(() => notice(roomNotice, ""), Math.max(0, until - Date.now()));
}

const isMe = (userId) => channel.you && channel.you.user_id === userId;

channel.on("user.muted", (event) => isMe(event.user_id) && showMuted(event.until));
channel.on("welcome", (frame) => frame.you.muted_until && showMuted(frame.you.muted_until));
channel.on("user.unmuted", (event) => {
  if (!isMe(event.user_id)) return;
  clearTimeout(muteTimer);
  notice(roomNotice, t("You can chat again."), "info");
});
channel.on("user.banned", (event) => {
  if (isMe(event.user_id)) notice(roomNotice, t("A moderator banned you from this room."), "error");
});

function showSlowMode(seconds) {
  slowMode = seconds;
  const exempt = channel.you && channel.you.role !== "viewer";
  let text = "";
  if (seconds > 0) {
    text = exempt
      ? t("Slow mode: one message every {seconds} s (not for you).", { seconds })
      : t("Slow mode: one message every {seconds} s.", { seconds });
  }
  notice(slowNotice, text, "info");
}

channel.on("snapshot", (snap) => showSlowMode(snap.slow_mode));
channel.on("room.slow_mode", (event) => showSlowMode(event.seconds));
onLanguage(() => showSlowMode(slowMode));

// --- shopping: flash sales, the pinned product, the room's products, my orders --------------
const sales = new SaleBook(channel);
const myOrders = new MyOrders(
  {
    panel: $("[data-orders-panel]"), list: $("[data-orders]"), status: $("[data-orders-status]"),
    refresh: $("[data-orders-refresh]"), count: $("[data-orders-count]"),
  },
  channel,
  sales,
);
const ordered = (order) => myOrders.put(order);
const salePanel = new SalePanel(
  {
    panel: $("[data-sales-panel]"), list: $("[data-sales]"), ticker: $("[data-ticker]"),
    tickerList: $("[data-ticker-list]"), banner: $("[data-sale-banner]"),
  },
  channel,
  sales,
  { onOrder: ordered, held: (saleId) => myOrders.held(saleId) },
);
myOrders.onChange(() => salePanel.refreshButtons());

const pinned = new PinnedCard($("[data-pinned]"), channel, { onOrder: ordered });
channel.on("snapshot", (snap) => pinned.show(snap.pin));
channel.on("product.pinned", (event) => pinned.show(event.product));
channel.on("product.unpinned", () => pinned.show(null));
channel.on("product.updated", (event) => pinned.product?.id === event.product.id && pinned.show(event.product));
new ProductShelf($("[data-products]"), channel, { onOrder: ordered });

// On a phone the products are a sheet over the video, opened from the bar.
const sheet = $("[data-products-sheet]");
const sheetOpen = $("[data-sheet-open]");
function openSheet(open) {
  sheet.dataset.open = open ? "true" : "false";
  sheetOpen.setAttribute("aria-expanded", String(open));
  if (open) $("[data-sheet-close]").focus();
}
sheetOpen.addEventListener("click", () => openSheet(sheet.dataset.open !== "true"));
$("[data-sheet-close]").addEventListener("click", () => (openSheet(false), sheetOpen.focus()));
document.addEventListener("keydown", (ev) => ev.key === "Escape" && sheet.dataset.open === "true" && openSheet(false));

// --- likes: taps are added up and sent together; hearts float up the video ------------------
const hearts = new Hearts($("[data-hearts]"));
let unsentLikes = 0;
let likeTimer = null;
let myLikes = 0; // taps of ours still to come back in a likes event (not drawn twice)

async function sendLikes() {
  likeTimer = null;
  const count = Math.min(unsentLikes, MAX_LIKES_PER_COMMAND);
  unsentLikes -= count;
  try {
    await channel.command("like", { count });
  } catch (err) {
    notice(roomNotice, errorText(err), "warn");
  }
  if (unsentLikes > 0 && !likeTimer) likeTimer = setTimeout(sendLikes, 300);
}

likeButton.addEventListener("click", () => {
  unsentLikes += 1;
  myLikes += 1;
  hearts.float(1, true);
  if (!likeTimer) likeTimer = setTimeout(sendLikes, 300);
});
channel.on("likes", (event) => {
  const others = Math.max(0, event.added - myLikes);
  myLikes = Math.max(0, myLikes - event.added);
  hearts.float(others);
});

// --- sharing: the room's address (never a token: token.js took it out) ----------------------
const shareStatus = $("[data-share-status]");
$("[data-share]").addEventListener("click", async () => {
  const url = `${location.origin}/rooms/${encodeURIComponent(room)}`;
  try {
    if (navigator.share) {
      await navigator.share({ title: document.title, url });
      return;
    }
    await navigator.clipboard.writeText(url);
    setText(shareStatus, t("Link copied."));
    notice(roomNotice, t("Link copied."), "info");
    setTimeout(() => notice(roomNotice, ""), 3000);
  } catch (err) {
    if (err?.name !== "AbortError") notice(roomNotice, t("Could not copy: select the text and copy it yourself."), "warn");
  }
});

// --- live video: plays by itself (muted) while the host is live ------------------------------
const videoBox = $("#video");
const video = $("[data-video]");
const offline = $("[data-video-offline]");
const spinner = $("[data-video-spinner]");
const unmute = $("[data-unmute]");
const liveBadge = $("[data-live-badge]");
const cohostVideo = $("[data-cohost-video]");

// ?playback=hls or ?playback=webrtc forces one way of playing (for testing); otherwise WebRTC,
// and HLS when WebRTC cannot serve this viewer.
const playback = new URLSearchParams(location.search).get("playback") || "auto";
const hlsNote = $("[data-video-no-hls]");
new LivePlayer(channel, video, {
  playback,
  onState(state) {
    const off = state === "offline" || state === "no_hls";
    videoBox.dataset.videoState = state;
    document.body.dataset.live = state === "offline" ? "false" : "true";
    video.hidden = off;
    offline.hidden = state !== "offline";
    hlsNote.hidden = state !== "no_hls";
    spinner.hidden = state !== "connecting";
    liveBadge.hidden = state === "offline";
    unmute.hidden = state !== "playing" || !video.muted;
  },
});
if (window.RTCPeerConnection && playback !== "hls") {
  // A co-host, when one publishes beside the host: a small picture in the corner.
  new LivePlayer(channel, cohostVideo, {
    slot: "cohost",
    playback: "webrtc",
    onState(state) {
      cohostVideo.hidden = state !== "playing";
    },
  });
}
// A host filming upright (9:16) fills a phone; a landscape one is shown whole.
video.addEventListener("resize", () => {
  videoBox.dataset.aspect = video.videoHeight > video.videoWidth ? "portrait" : "landscape";
});
unmute.addEventListener("click", () => {
  for (const v of [video, cohostVideo]) {
    v.muted = false;
    v.play().catch(() => {});
  }
  unmute.hidden = true;
});

// --- language and currency, switched in place ------------------------------------------------
const switcher = $("[data-switcher]");
const langSelect = $("[data-lang-select]");
const currencySelect = $("[data-currency-select]");
let currencyChosen = Boolean(pageData.currency_chosen);
switcher.addEventListener("submit", (ev) => {
  ev.preventDefault();
  applySwitcher();
});
langSelect.addEventListener("change", applySwitcher);
currencySelect.addEventListener("change", () => {
  currencyChosen = true;
  document.cookie = `liveroom_currency=${currencySelect.value}; path=/; max-age=31536000; samesite=lax`;
  applySwitcher();
});

async function applySwitcher() {
  try {
    const next = langSelect.value !== document.documentElement.dataset.lang ? await switchLanguage(langSelect.value) : null;
    if (next) document.documentElement.dataset.lang = next.lang;
    if (next && !currencyChosen) currencySelect.value = next.currency;
    setViewerCurrency(currencySelect.value);
    setText($("[data-switcher-current]"), `${langSelect.value.toUpperCase()} · ${currencySelect.value}`);
    document.dispatchEvent(new CustomEvent("liveroom:language"));
    $("[data-switcher-menu]").open = false;
  } catch (err) {
    notice(roomNotice, errorText(err), "warn");
  }
}
document.documentElement.dataset.lang = pageData.lang;

// --- closing for good ----------------------------------------------------------------------
bindRoomHeader(channel, {
  onClosed() {
    closed = true;
    likeButton.disabled = true;
    notice(slowNotice, "");
    showForms();
  },
});

// --- past sessions: the room's replays ----------------------------------------------------------
async function listReplays() {
  const token = pageToken();
  const response = await fetch(`/api/rooms/${encodeURIComponent(room)}/replays`,
    { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (!response.ok) return;
  const { replays } = await response.json();
  const list = $("[data-replays]");
  list.replaceChildren(...replays.map((replay) => {
    const minutes = Math.max(1, Math.round(replay.duration / 60));
    const when = new Date(replay.started_at * 1000).toLocaleString();
    // The page's own link token goes along: a shopper stays signed in to buy from the replay.
    const href = token ? `${replay.page}?token=${encodeURIComponent(token)}` : replay.page;
    return el("li", {}, el("a", { href },
      t("{when} · {minutes} min", { when, minutes })));
  }));
  $("[data-replays-panel]").hidden = replays.length === 0;
}
listReplays().catch(() => {});

channel.connect();
