// Pieces the viewer room, the host studio and the moderator console share: the chat list, the
// room header (title, viewer count, connection status), and the chat form.

import { RoomChannel } from "./channel.js";
import { localized, onLanguage, t } from "./i18n.js";
import { $, closedMessage, el, errorText, flagEmoji, formatCount, formatTime, initials, notice, pageToken, setText, statusText } from "./ui.js";

const MAX_MESSAGES = 200;
// Functions, not tables: the page may switch language, and t() answers in the current one.
const roleLabel = (role) => ({ host: t("Host"), moderator: t("Mod"), admin: t("Staff") })[role];
const ROLE_NAMES = () => ({ viewer: t("viewer"), host: t("host"), cohost: t("co-host"), moderator: t("moderator"), admin: t("admin") });

/** The chat list: renders messages as text, removes deleted ones, keeps the newest in view. */
export class ChatView {
  /** actions(message) may return buttons to show with a message (the console's tools). */
  constructor(list, { actions = null, empty = null, render = null } = {}) {
    this.list = list;
    this.actions = actions;
    this.empty = empty;
    this.render = render; // render(message) may draw a row its own way (the console's)
    this.items = new Map();
    this.messages = new Map();
    onLanguage(() => this.reset([...this.messages.values()]));
  }

  reset(messages) {
    this.items.clear();
    this.messages.clear();
    this.list.replaceChildren();
    for (const message of messages) this.add(message, false);
    this.scrollToEnd();
    this.updateEmpty();
  }

  row(message) {
    const role = roleLabel(message.role);
    const item = el(
      "li",
      { class: `chat-message role-${message.role}`, dataset: { messageId: message.id, userId: message.user_id } },
      el(
        "div",
        { class: "chat-meta" },
        el("span", { class: "chat-name", text: message.name || message.user_id }),
        role ? el("span", { class: "badge", text: role }) : null,
        el("time", { class: "chat-time", datetime: new Date(message.ts).toISOString(), text: formatTime(message.ts) }),
      ),
      el("p", { class: "chat-text", text: message.text }),
    );
    const tools = this.actions ? this.actions(message) : null;
    if (tools && tools.length) item.append(el("div", { class: "chat-actions" }, tools));
    return item;
  }

  add(message, scroll = true) {
    if (this.items.has(message.id)) return;
    const atEnd = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    const item = this.render ? this.render(message) : this.row(message);
    this.messages.set(message.id, message);
    this.items.set(message.id, item);
    this.list.append(item);
    while (this.items.size > MAX_MESSAGES) this.remove(this.items.keys().next().value);
    if (scroll && atEnd) this.scrollToEnd();
    this.updateEmpty();
  }

  remove(messageId) {
    const item = this.items.get(messageId);
    if (!item) return;
    this.items.delete(messageId);
    this.messages.delete(messageId);
    if (item.contains(document.activeElement)) {
      // Keep keyboard users in the list: focus a tool on a neighbouring message.
      const neighbour = item.nextElementSibling || item.previousElementSibling;
      const target = neighbour && neighbour.querySelector("button");
      if (target) target.focus();
    }
    item.remove();
    this.updateEmpty();
  }

  scrollToEnd() {
    this.list.scrollTop = this.list.scrollHeight;
  }

  updateEmpty() {
    if (this.empty) this.empty.hidden = this.items.size > 0;
  }

  /** Follow the room channel: snapshot, new and deleted messages. */
  follow(channel) {
    channel.on("snapshot", (snap) => this.reset(snap.chat));
    channel.on("chat.message", (event) => this.add(event.message));
    channel.on("chat.deleted", (event) => this.remove(event.message_id));
    return this;
  }
}

/**
 * The header every room page has: flag and title, host, viewer count, likes, connection
 * status; and the notice shown when the channel closes for good.
 */
export function bindRoomHeader(channel, { onClosed = null } = {}) {
  const titles = document.querySelectorAll("[data-room-title]");
  const hosts = document.querySelectorAll("[data-room-host]");
  const flag = document.querySelector("[data-room-flag]");
  const avatar = document.querySelector("[data-host-initials]");
  const viewers = $("[data-viewers]");
  const likes = document.querySelector("[data-likes]");
  const status = $("[data-status]");
  const closed = $("[data-closed-notice]");
  let room = null;
  let lastStatus = null;

  const showRoom = (record) => {
    room = record;
    const text = localized(record);
    for (const title of titles) setText(title, text.title);
    for (const host of hosts) setText(host, text.host_name);
    if (flag) setText(flag, flagEmoji(record.country_code));
    if (avatar) setText(avatar, initials(text.host_name || text.title));
    document.title = `${text.title} · Liveroom`;
  };
  onLanguage(() => {
    if (room) showRoom(room);
    if (lastStatus) setText(status, statusText(lastStatus));
  });
  channel.on("snapshot", (snap) => {
    showRoom(snap.room);
    setText(viewers, formatCount(snap.viewers));
    if (likes) setText(likes, formatCount(snap.likes));
  });
  channel.on("viewers", (event) => setText(viewers, formatCount(event.count)));
  channel.on("likes", (event) => likes && setText(likes, formatCount(event.total)));
  channel.on("room.updated", (event) => showRoom(event.room));
  channel.on("status", (s) => {
    lastStatus = s;
    setText(status, statusText(s));
    status.dataset.state = s.state;
  });
  channel.on("room.deleted", () => notice(closed, t("This room has ended."), "error"));
  channel.on("closed", ({ code, error, reason }) => {
    notice(closed, closedMessage(code, error, reason), "error");
    document.body.dataset.channel = "closed";
    if (onClosed) onClosed(code, error);
  });
}

/**
 * A chat form: sends chat.send, clears the input on success, shows refusals in `status`, and
 * keeps the send button disabled while the server asks us to wait (retry_after_ms).
 */
export class ChatForm {
  constructor(form, channel, { ready = null, onSent = null, onError = null } = {}) {
    this.form = form;
    this.channel = channel;
    this.input = $("input, textarea", form);
    this.button = $("button[type=submit]", form);
    this.status = $("[data-form-status]", form);
    this.ready = ready;
    this.onSent = onSent;
    this.onError = onError;
    this.blockedUntil = 0;
    this.timer = null;
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.send();
    });
  }

  async send() {
    const text = this.input.value.trim();
    if (!text || this.button.disabled) return;
    this.button.disabled = true;
    try {
      if (this.ready) await this.ready();
      await this.channel.command("chat.send", { text });
      this.input.value = "";
      notice(this.status, "");
      this.button.disabled = false;
      if (this.onSent) this.onSent();
    } catch (err) {
      this.button.disabled = false;
      notice(this.status, errorText(err), "error");
      if (err.frame?.retry_after_ms) this.waitFor(err.frame.retry_after_ms);
      if (this.onError) this.onError(err);
    }
    this.input.focus();
  }

  /** Disable sending for `ms`, with a countdown on the button. */
  waitFor(ms) {
    this.blockedUntil = Math.max(this.blockedUntil, Date.now() + ms);
    const label = this.button.dataset.label || (this.button.dataset.label = this.button.textContent);
    clearInterval(this.timer);
    const tick = () => {
      const left = Math.ceil((this.blockedUntil - Date.now()) / 1000);
      if (left <= 0) {
        clearInterval(this.timer);
        this.button.disabled = false;
        setText(this.button, label);
        if (this.status.dataset.kind === "error") notice(this.status, "");
        return;
      }
      this.button.disabled = true;
      setText(this.button, `${label} (${left})`);
    };
    tick();
    this.timer = setInterval(tick, 250);
  }
}

const ACTIONS = () => ({
  "chat.delete": t("Delete"),
  "user.mute": t("Mute"),
  "user.unmute": t("Unmute"),
  "user.ban": t("Ban"),
  "user.unban": t("Unban"),
  "room.slow_mode": t("Slow mode"),
  "product.pin": t("Pin"),
  "product.unpin": t("Unpin"),
  "presence.list": t("Members"),
  "sale.create": t("Start flash sale"),
  "sale.end": t("End sale"),
  "sale.cancel": t("Cancel sale"),
});

/** A role's name in the page's language. */
export function roleName(role) {
  return ROLE_NAMES()[role] || role;
}

/**
 * The studio's and the console's start: a channel with the link's token, "signed in as", and
 * an alert line for refused actions. Returns null (and says why) when the link has no token.
 */
export function staffPage() {
  const room = document.body.dataset.room;
  const token = pageToken();
  const actionNotice = $("[data-action-notice]");
  if (!token) {
    notice($("[data-closed-notice]"), t("This page needs the link with its access token (?token=…)."), "error");
    setText($("[data-status]"), t("Offline"));
    return null;
  }
  const channel = new RoomChannel(room, { token });
  let clearTimer = null;
  const showError = (err, cmd) => {
    const what = ACTIONS()[cmd] || cmd;
    notice(actionNotice, t("{action} failed: {reason}", { action: what, reason: errorText(err) }), "error");
    clearTimeout(clearTimer);
    clearTimer = setTimeout(() => notice(actionNotice, ""), 15000);
  };
  channel.on("welcome", (welcome) => {
    const you = welcome.you;
    setText($("[data-whoami]"), `${you.name || you.user_id} · ${roleName(you.role)}`);
    if (you.role === "viewer") {
      notice(actionNotice, t("This link is a viewer's: pinning and moderating need a host or moderator link."), "warn");
    }
  });
  return { room, channel, showError };
}
