// The moderator console, one screen for a busy room: compact chat rows with their actions in a
// menu (and keys: D delete, M mute, B ban) and markers on muted and banned users; a preview of
// the live video; flash sales (create in minutes and seconds, now or at a time; follow, end,
// read their orders); pins; the members, updating as people come and go; slow mode; a log of
// moderation; and the room's text in other languages. Refusals show in an alert line.

import { t } from "./i18n.js";
import { LivePlayer } from "./media.js";
import { ProductPanel } from "./products.js";
import { ChatForm, ChatView, bindRoomHeader, roleName, staffPage } from "./roomview.js";
import { SaleAdmin } from "./saleadmin.js";
import { Translations } from "./translations.js";
import { $, el, formatTime, notice, pageToken, setText } from "./ui.js";

const MUTE_SECONDS = 5 * 60;
const CONFIRM_MS = 4000;
const MAX_ACTIVITY = 50;
const MEMBERS_EVERY_MS = 2000; // the members list follows the viewer count, at most this often

function start({ room, channel, showError }) {
  const names = new Map(); // user id → display name, from chat and the members list
  const nameOf = (userId) => names.get(userId) || userId;
  const moderation = new Map(); // user id → {muted: until ms, banned: bool}, as events say
  const actionNotice = $("[data-action-notice]");

  async function run(cmd, fields, button = null, onError = null) {
    if (button) button.disabled = true;
    try {
      return await channel.command(cmd, fields);
    } catch (err) {
      if (onError) onError(err);
      else showError(err, cmd);
      return null;
    } finally {
      if (button) button.disabled = false;
    }
  }

  const isModerated = (message) => message.role === "viewer" && message.user_id !== channel.you?.user_id;

  // --- actions on a person ------------------------------------------------------------------
  const act = {
    delete: (message) => run("chat.delete", { message_id: message.id }),
    mute: (userId) => run("user.mute", { user_id: userId, seconds: MUTE_SECONDS }),
    ban: (userId, removeMessages = false) => run("user.ban", { user_id: userId, remove_messages: removeMessages }),
  };

  // A ban asks twice: the first press arms it for a few seconds.
  let armed = null;
  function confirmBan(userId, removeMessages, onArm) {
    if (armed && armed.userId === userId && armed.removeMessages === removeMessages) {
      clearTimeout(armed.timer);
      armed = null;
      notice(actionNotice, "");
      act.ban(userId, removeMessages);
      return true;
    }
    clearTimeout(armed?.timer);
    armed = { userId, removeMessages, timer: setTimeout(() => ((armed = null), notice(actionNotice, "")), CONFIRM_MS) };
    notice(actionNotice, t("Press again to ban {name}.", { name: nameOf(userId) }), "warn");
    if (onArm) onArm();
    return false;
  }

  // --- chat: compact rows, a menu per message, keys -----------------------------------------
  const list = $("[data-chat]");
  const menu = $("[data-row-menu]");
  let menuFor = null;

  function markers(userId) {
    const state = moderation.get(userId) || {};
    const out = [];
    if (state.banned) out.push(["banned", t("Banned")]);
    else if (state.muted && state.muted > Date.now()) out.push(["muted", t("Muted")]);
    return out;
  }

  function paintMarkers(row) {
    const box = row.querySelector(".markers");
    if (!box) return;
    box.replaceChildren(...markers(row.dataset.userId).map(([kind, text]) => el("span", { class: `marker marker-${kind}`, text })));
    row.classList.toggle("is-banned", box.querySelector(".marker-banned") !== null);
    row.classList.toggle("is-muted", box.querySelector(".marker-muted") !== null);
  }

  function chatRow(message) {
    names.set(message.user_id, message.name);
    const who = message.name || message.user_id;
    const role = { host: t("Host"), moderator: t("Mod"), admin: t("Staff") }[message.role];
    const button = el("button", {
      type: "button", class: "row-menu-button", tabindex: -1, "aria-haspopup": "menu",
      "aria-label": t("Actions for the message from {name}", { name: who }),
      on: { click: (ev) => (ev.stopPropagation(), openMenu(row, message)) },
    }, "⋯");
    const row = el(
      "li",
      { class: `chat-row role-${message.role}`, tabindex: -1, dataset: { messageId: message.id, userId: message.user_id } },
      el("time", { class: "chat-time", datetime: new Date(message.ts).toISOString(), text: formatTime(message.ts) }),
      " ",
      el("span", { class: "chat-name", text: who }),
      role ? el("span", { class: "badge", text: role }) : null,
      el("span", { class: "markers" }),
      " ",
      el("span", { class: "chat-text", text: message.text }),
      button,
    );
    row.message = message;
    paintMarkers(row);
    return row;
  }

  function repaint(userId) {
    for (const row of list.querySelectorAll(`.chat-row[data-user-id="${CSS.escape(userId)}"]`)) paintMarkers(row);
    members.repaint();
  }

  function openMenu(row, message) {
    menuFor = { row, message };
    const moderated = isModerated(message);
    for (const item of menu.querySelectorAll("[data-act]")) {
      item.hidden = item.dataset.act !== "delete" && !moderated;
      item.removeAttribute("data-armed");
    }
    menu.hidden = false;
    const box = row.getBoundingClientRect();
    const panel = menu.offsetParent.getBoundingClientRect();
    menu.style.top = `${Math.min(box.bottom - panel.top, panel.height - menu.offsetHeight - 8)}px`;
    menu.querySelector("[data-act]:not([hidden])").focus();
  }

  function closeMenu(focusRow = true) {
    if (menu.hidden) return;
    menu.hidden = true;
    if (focusRow && menuFor?.row.isConnected) menuFor.row.focus();
    menuFor = null;
  }

  function perform(action, row, message) {
    const userId = message.user_id;
    if (action === "delete") return act.delete(message);
    if (!isModerated(message)) return null;
    if (action === "mute") return act.mute(userId);
    if (action === "ban") return confirmBan(userId, false);
    if (action === "ban-remove") return confirmBan(userId, true);
    return null;
  }

  menu.addEventListener("click", (ev) => {
    const item = ev.target.closest("[data-act]");
    if (!item || !menuFor) return;
    const { row, message } = menuFor;
    const done = perform(item.dataset.act, row, message);
    if (done === false) item.dataset.armed = "true"; // a ban waiting for its second press
    else closeMenu();
  });
  menu.addEventListener("keydown", (ev) => {
    const items = [...menu.querySelectorAll("[data-act]:not([hidden])")];
    const i = items.indexOf(document.activeElement);
    if (ev.key === "Escape") closeMenu();
    else if (ev.key === "ArrowDown") items[(i + 1) % items.length].focus();
    else if (ev.key === "ArrowUp") items[(i - 1 + items.length) % items.length].focus();
    else return;
    ev.preventDefault();
  });
  document.addEventListener("click", (ev) => !menu.contains(ev.target) && closeMenu(false));

  list.addEventListener("focus", (ev) => {
    if (ev.target === list) list.querySelector(".chat-row:last-child")?.focus();
  });
  list.addEventListener("click", (ev) => ev.target.closest(".chat-row")?.focus());
  list.addEventListener("keydown", (ev) => {
    const row = document.activeElement?.closest?.(".chat-row");
    if (!row || !list.contains(row)) return;
    const key = ev.key.toLowerCase();
    let target = null;
    if (ev.key === "ArrowDown") target = row.nextElementSibling;
    else if (ev.key === "ArrowUp") target = row.previousElementSibling;
    else if (ev.key === "Home") target = list.firstElementChild;
    else if (ev.key === "End") target = list.lastElementChild;
    else if (ev.key === "Enter" || ev.key === "ContextMenu") return (ev.preventDefault(), openMenu(row, row.message));
    else if (!ev.ctrlKey && !ev.metaKey && !ev.altKey && ["d", "m", "b"].includes(key)) {
      ev.preventDefault();
      const next = row.nextElementSibling || row.previousElementSibling;
      perform({ d: "delete", m: "mute", b: "ban" }[key], row, row.message);
      if (key === "d" && next) next.focus(); // the row goes: stay in the list
      return;
    } else return;
    ev.preventDefault();
    target?.focus();
  });

  bindRoomHeader(channel);
  new ChatView(list, { empty: $("[data-chat-empty]"), render: chatRow }).follow(channel);
  new ChatForm($("[data-chat-form]"), channel);
  const sales = new SaleAdmin($("[data-sale-admin]"), $("[data-sale-orders]"), { room, token: pageToken(), channel, run });
  const translations = new Translations($("[data-translations]"), { room, token: pageToken(), channel });
  new ProductPanel($("[data-products-panel]"), channel, {
    room, onError: showError, onProducts: (p) => (sales.setProducts(p), translations.setProducts(p)),
  });

  // --- the live video, small --------------------------------------------------------------
  const preview = $("[data-preview]");
  if (window.RTCPeerConnection) {
    new LivePlayer(channel, preview, {
      onState(state) {
        preview.hidden = state === "offline";
        $("[data-preview-off]").hidden = state !== "offline";
        $("[data-live-badge]").hidden = state === "offline";
      },
    });
  }

  // --- slow mode ----------------------------------------------------------------------------
  const slowSet = $("[data-slow-mode]");
  const slowStatus = $("[data-slow-mode-status]");
  let slowMode = 0;
  function showSlowMode(seconds) {
    slowMode = seconds;
    for (const radio of slowSet.querySelectorAll("input")) radio.checked = Number(radio.value) === seconds;
    setText(slowStatus, seconds > 0 ? t("On: one message every {seconds} s (moderators and the host are exempt).", { seconds }) : t("Slow mode is off."));
  }
  slowSet.addEventListener("change", async (ev) => {
    const seconds = Number(ev.target.value);
    slowSet.disabled = true;
    const ack = await run("room.slow_mode", { seconds });
    slowSet.disabled = false;
    if (!ack) showSlowMode(slowMode); // refused: show what is really in force
  });
  channel.on("snapshot", (snap) => showSlowMode(snap.slow_mode));
  channel.on("room.slow_mode", (event) => showSlowMode(event.seconds));

  // --- members, live --------------------------------------------------------------------------
  const members = new Members({ list: $("[data-members]"), status: $("[data-members-status]"), refresh: $("[data-members-refresh]") }, {
    channel, run, names, markers, act, confirmBan,
  });

  // --- moderation activity ------------------------------------------------------------------
  const activity = $("[data-activity]");
  const activityEmpty = $("[data-activity-empty]");
  function log(text, undo = null) {
    const item = el("li", {}, el("time", { class: "muted", text: formatTime(Date.now()) }), " ", text);
    if (undo) {
      item.append(" ", el("button", {
        type: "button", class: "btn btn-small btn-secondary", text: undo.label, "aria-label": `${undo.label}: ${undo.who}`,
        on: { click: (ev) => run(undo.cmd, { user_id: undo.userId }, ev.currentTarget) },
      }));
    }
    activity.prepend(item);
    while (activity.children.length > MAX_ACTIVITY) activity.lastElementChild.remove();
    activityEmpty.hidden = true;
  }
  const by = (event) => (event.by === channel.you?.user_id ? t("you") : nameOf(event.by));
  const state = (userId) => moderation.get(userId) || moderation.set(userId, {}).get(userId);
  channel.on("chat.deleted", (event) => log(t("A message was deleted by {by}.", { by: by(event) })));
  channel.on("user.muted", (event) => {
    const who = nameOf(event.user_id);
    state(event.user_id).muted = event.until;
    repaint(event.user_id);
    setTimeout(() => repaint(event.user_id), Math.max(0, event.until - Date.now()) + 50);
    log(t("{name} was muted until {time} by {by}.", { name: who, time: formatTime(event.until), by: by(event) }),
      { label: t("Unmute"), cmd: "user.unmute", userId: event.user_id, who });
  });
  channel.on("user.unmuted", (event) => {
    state(event.user_id).muted = 0;
    repaint(event.user_id);
    log(t("{name} was unmuted by {by}.", { name: nameOf(event.user_id), by: by(event) }));
  });
  channel.on("user.banned", (event) => {
    const who = nameOf(event.user_id);
    state(event.user_id).banned = true;
    repaint(event.user_id);
    log(t("{name} was banned by {by}.", { name: who, by: by(event) }), { label: t("Unban"), cmd: "user.unban", userId: event.user_id, who });
  });
  channel.on("user.unbanned", (event) => {
    state(event.user_id).banned = false;
    repaint(event.user_id);
    log(t("{name} was unbanned by {by}.", { name: nameOf(event.user_id), by: by(event) }));
  });
  channel.on("room.slow_mode", (event) =>
    log(event.seconds
      ? t("Slow mode set to {seconds} s by {by}.", { seconds: event.seconds, by: by(event) })
      : t("Slow mode turned off by {by}.", { by: by(event) })));
  channel.on("product.pinned", (event) => log(t("{product} was pinned by {by}.", { product: event.product.name, by: by(event) })));
  const system = t("the system");
  channel.on("product.unpinned", (event) => log(t("The pin was cleared by {by}.", { by: event.by === "system" ? system : by(event) })));
  channel.on("sale.scheduled", (event) => log(t("A flash sale of {product} was scheduled.", { product: event.sale.product?.name })));
  channel.on("sale.started", (event) => log(t("The flash sale of {product} is live.", { product: event.sale.product?.name })));
  channel.on("sale.sold_out", (event) => log(t("The flash sale of {product} sold out.", { product: event.sale.product?.name })));
  channel.on("sale.ended", (event) => log(t("The flash sale of {product} ended.", { product: event.sale.product?.name })));
  channel.on("sale.cancelled", (event) => log(t("The flash sale of {product} was cancelled.", { product: event.sale.product?.name })));

  channel.connect();
}

/** The people in the room, one entry each however many tabs they have, kept current as the
 * viewer count changes and people are banned; Mute and Ban beside each viewer. */
class Members {
  constructor({ list, status, refresh }, { channel, run, names, markers, act, confirmBan }) {
    Object.assign(this, { list, status, refresh, channel, run, names, markers, act, confirmBan });
    this.people = new Map();
    this.timer = null;
    this.last = 0;
    refresh.addEventListener("click", () => this.load());
    channel.on("status", (s) => s.state === "open" && this.load());
    channel.on("viewers", () => this.soon());
    channel.on("user.banned", () => this.soon());
  }

  soon() {
    if (this.timer) return;
    const wait = Math.max(0, this.last + MEMBERS_EVERY_MS - Date.now());
    this.timer = setTimeout(() => ((this.timer = null), this.load()), wait);
  }

  async load() {
    this.last = Date.now();
    const ack = await this.run("presence.list", {}, null, () => {});
    if (!ack) return;
    const people = new Map();
    for (const m of ack.members) {
      const person = people.get(m.user_id) || { ...m, connections: 0 };
      person.connections += 1;
      person.name = person.name || m.name;
      people.set(m.user_id, person);
      if (m.name) this.names.set(m.user_id, m.name);
    }
    this.people = people;
    this.repaint();
    setText(this.status, t("People here: {count} (at {time}).", { count: people.size, time: formatTime(Date.now()) }));
  }

  repaint() {
    const me = this.channel.you?.user_id;
    this.list.replaceChildren(...[...this.people.values()].map((m) => {
      const who = m.name || m.user_id;
      const tools = m.role === "viewer" && m.user_id !== me ? [
        el("button", {
          type: "button", class: "btn btn-small btn-secondary", text: t("Mute 5 min"), "aria-label": t("Mute {name} for 5 minutes", { name: who }),
          on: { click: () => this.act.mute(m.user_id) },
        }),
        el("button", {
          type: "button", class: "btn btn-small btn-danger", text: t("Ban"), "aria-label": t("Ban {name}", { name: who }),
          on: { click: () => this.confirmBan(m.user_id, false) },
        }),
      ] : [];
      return el(
        "li",
        { class: "member", dataset: { userId: m.user_id } },
        el("span", { class: "member-name", text: m.name || t("(no name yet)") }),
        el("span", { class: `badge role-${m.role}`, text: roleName(m.role) }),
        ...this.markers(m.user_id).map(([kind, text]) => el("span", { class: `marker marker-${kind}`, text })),
        el("span", { class: "member-id muted", text: m.connections > 1 ? t("{user} · {count} connections", { user: m.user_id, count: m.connections }) : m.user_id }),
        tools.length ? el("span", { class: "member-tools" }, tools) : null,
      );
    }));
  }
}

const page = staffPage();
if (page) start(page);
