// The moderator console: chat with Delete / Mute / Ban on every message, slow mode, pin and
// unpin, flash sales (create, follow, end, read their orders), the members list, and a log of
// moderation in the room. Refusals show in an alert line.

import { t } from "./i18n.js";
import { ProductPanel } from "./products.js";
import { ChatForm, ChatView, bindRoomHeader, roleName, staffPage } from "./roomview.js";
import { SaleAdmin } from "./saleadmin.js";
import { $, el, formatTime, pageToken, setText } from "./ui.js";

const MUTE_SECONDS = 5 * 60;
const BAN_CONFIRM_MS = 4000;
const MAX_ACTIVITY = 50;

const page = staffPage();
if (page) start(page);

function start({ room, channel, showError }) {
  const names = new Map(); // user id → display name, from chat and the members list
  const nameOf = (userId) => names.get(userId) || userId;

  async function run(cmd, fields, button, onError = null) {
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

  // --- chat with moderation tools -----------------------------------------------------------
  function banButton(userId, label) {
    // Two steps instead of a dialog: the first press arms the button for a few seconds.
    const button = el("button", { type: "button", class: "btn btn-small btn-danger", text: t("Ban"), "aria-label": label });
    let armed = null;
    button.addEventListener("click", () => {
      if (!armed) {
        setText(button, t("Confirm ban"));
        armed = setTimeout(() => {
          armed = null;
          setText(button, t("Ban"));
        }, BAN_CONFIRM_MS);
        return;
      }
      clearTimeout(armed);
      armed = null;
      setText(button, t("Ban"));
      run("user.ban", { user_id: userId }, button);
    });
    return button;
  }

  function messageTools(message) {
    names.set(message.user_id, message.name);
    const who = message.name || message.user_id;
    const tools = [
      el("button", {
        type: "button", class: "btn btn-small btn-secondary", text: t("Delete"), "aria-label": t("Delete message from {name}", { name: who }),
        on: { click: (ev) => run("chat.delete", { message_id: message.id }, ev.currentTarget) },
      }),
    ];
    // Mute and Ban are for viewers; the host and other staff are not moderated from here.
    if (message.role === "viewer" && message.user_id !== channel.you?.user_id) {
      tools.push(
        el("button", {
          type: "button", class: "btn btn-small btn-secondary", text: t("Mute 5 min"), "aria-label": t("Mute {name} for 5 minutes", { name: who }),
          on: { click: (ev) => run("user.mute", { user_id: message.user_id, seconds: MUTE_SECONDS }, ev.currentTarget) },
        }),
        banButton(message.user_id, t("Ban {name}", { name: who })),
      );
    }
    return tools;
  }

  bindRoomHeader(channel);
  new ChatView($("[data-chat]"), { empty: $("[data-chat-empty]"), actions: messageTools }).follow(channel);
  new ChatForm($("[data-chat-form]"), channel);
  const sales = new SaleAdmin($("[data-sale-admin]"), $("[data-sale-orders]"), { room, token: pageToken(), channel, run });
  new ProductPanel($("[data-products-panel]"), channel, { room, onError: showError, onProducts: (p) => sales.setProducts(p) });

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

  // --- members ------------------------------------------------------------------------------
  const members = $("[data-members]");
  const membersStatus = $("[data-members-status]");
  const refresh = $("[data-members-refresh]");
  async function loadMembers() {
    const ack = await run("presence.list", {}, refresh);
    if (!ack) return;
    // One entry per person, however many tabs or devices they are connected from.
    const people = new Map();
    for (const m of ack.members) {
      const person = people.get(m.user_id) || { ...m, connections: 0 };
      person.connections += 1;
      person.name = person.name || m.name;
      people.set(m.user_id, person);
      if (m.name) names.set(m.user_id, m.name);
    }
    members.replaceChildren(
      ...[...people.values()].map((m) =>
        el(
          "li",
          { class: "member", dataset: { userId: m.user_id } },
          el("span", { class: "member-name", text: m.name || t("(no name yet)") }),
          el("span", { class: `badge role-${m.role}`, text: roleName(m.role) }),
          el("span", { class: "member-id muted", text: m.connections > 1 ? t("{user} · {count} connections", { user: m.user_id, count: m.connections }) : m.user_id }),
        ),
      ),
    );
    setText(membersStatus, t("People here: {count} (at {time}).", { count: people.size, time: formatTime(Date.now()) }));
  }
  refresh.addEventListener("click", loadMembers);
  channel.on("status", (s) => s.state === "open" && loadMembers());

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
  channel.on("chat.deleted", (event) => log(t("A message was deleted by {by}.", { by: by(event) })));
  channel.on("user.muted", (event) => {
    const who = nameOf(event.user_id);
    log(t("{name} was muted until {time} by {by}.", { name: who, time: formatTime(event.until), by: by(event) }),
      { label: t("Unmute"), cmd: "user.unmute", userId: event.user_id, who });
  });
  channel.on("user.unmuted", (event) => log(t("{name} was unmuted by {by}.", { name: nameOf(event.user_id), by: by(event) })));
  channel.on("user.banned", (event) => {
    const who = nameOf(event.user_id);
    log(t("{name} was banned by {by}.", { name: who, by: by(event) }), { label: t("Unban"), cmd: "user.unban", userId: event.user_id, who });
  });
  channel.on("user.unbanned", (event) => log(t("{name} was unbanned by {by}.", { name: nameOf(event.user_id), by: by(event) })));
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
