// The viewer room: live video, flash sales and my orders, pinned product, chat (guests choose a
// display name first), likes, viewer count, and what moderation does to this viewer (deleted
// messages, mute, ban, slow mode).

import { RoomChannel } from "./channel.js";
import { t } from "./i18n.js";
import { LivePlayer } from "./media.js";
import { MyOrders } from "./orders.js";
import { renderPinned } from "./products.js";
import { ChatForm, ChatView, bindRoomHeader } from "./roomview.js";
import { SalePanel } from "./sale.js";
import { SaleBook } from "./sales.js";
import { $, errorText, formatTime, notice, pageToken } from "./ui.js";

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
const pinnedBox = $("[data-pinned]");

let slowMode = 0;
let pinned = null;
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

// --- the pinned product --------------------------------------------------------------------
function showPinned(product) {
  pinned = product;
  renderPinned(pinnedBox, product);
}

channel.on("snapshot", (snap) => showPinned(snap.pin));
channel.on("product.pinned", (event) => showPinned(event.product));
channel.on("product.unpinned", () => showPinned(null));
channel.on("product.updated", (event) => pinned && event.product.id === pinned.id && showPinned(event.product));

// --- flash sales and my orders --------------------------------------------------------------
const sales = new SaleBook(channel);
const myOrders = new MyOrders(
  { panel: $("[data-orders-panel]"), list: $("[data-orders]"), status: $("[data-orders-status]"), refresh: $("[data-orders-refresh]") },
  channel,
  sales,
);
new SalePanel(
  { panel: $("[data-sales-panel]"), list: $("[data-sales]"), ticker: $("[data-ticker]"), tickerList: $("[data-ticker-list]") },
  channel,
  sales,
  { onOrder: (order) => myOrders.add(order) },
);

// --- likes: taps are added up and sent together --------------------------------------------
let unsentLikes = 0;
let likeTimer = null;

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
  if (!matchMedia("(prefers-reduced-motion: reduce)").matches) {
    likeButton.animate([{ transform: "scale(1)" }, { transform: "scale(1.12)" }, { transform: "scale(1)" }], 250);
  }
  if (!likeTimer) likeTimer = setTimeout(sendLikes, 300);
});

// --- live video: plays by itself (muted) while the host is live ------------------------------
const videoBox = $("#video");
const video = $("[data-video]");
const offline = $("[data-video-offline]");
const unmute = $("[data-unmute]");
const liveBadge = $("[data-live-badge]");
const cohostVideo = $("[data-cohost-video]");

if (window.RTCPeerConnection) {
  new LivePlayer(channel, video, {
    onState(state) {
      videoBox.dataset.videoState = state;
      video.hidden = state === "offline";
      offline.hidden = state !== "offline";
      liveBadge.hidden = state !== "playing";
      unmute.hidden = state !== "playing" || !video.muted;
    },
  });
  // A co-host, when one publishes beside the host: a small picture in the corner.
  new LivePlayer(channel, cohostVideo, {
    slot: "cohost",
    onState(state) {
      cohostVideo.hidden = state !== "playing";
    },
  });
}
unmute.addEventListener("click", () => {
  for (const v of [video, cohostVideo]) {
    v.muted = false;
    v.play().catch(() => {});
  }
  unmute.hidden = true;
});

// --- closing for good ----------------------------------------------------------------------
bindRoomHeader(channel, {
  onClosed() {
    closed = true;
    likeButton.disabled = true;
    notice(slowNotice, "");
    showForms();
  },
});

channel.connect();
