// The moderator console: chat with Delete / Mute / Ban on every message, slow mode, pin and
// unpin, the members list, and a log of moderation in the room. Refusals show in an alert line.

import { ProductPanel } from "./products.js";
import { ChatForm, ChatView, bindRoomHeader, staffPage } from "./roomview.js";
import { $, el, formatTime, setText } from "./ui.js";

const MUTE_SECONDS = 5 * 60;
const BAN_CONFIRM_MS = 4000;
const MAX_ACTIVITY = 50;

const page = staffPage();
if (page) start(page);

function start({ room, channel, showError }) {
  const names = new Map(); // user id → display name, from chat and the members list
  const nameOf = (userId) => names.get(userId) || userId;

  async function run(cmd, fields, button) {
    if (button) button.disabled = true;
    try {
      return await channel.command(cmd, fields);
    } catch (err) {
      showError(err, cmd);
      return null;
    } finally {
      if (button) button.disabled = false;
    }
  }

  // --- chat with moderation tools -----------------------------------------------------------
  function banButton(userId, label) {
    // Two steps instead of a dialog: the first press arms the button for a few seconds.
    const button = el("button", { type: "button", class: "btn btn-small btn-danger", text: "Ban", "aria-label": label });
    let armed = null;
    button.addEventListener("click", () => {
      if (!armed) {
        setText(button, "Confirm ban");
        armed = setTimeout(() => {
          armed = null;
          setText(button, "Ban");
        }, BAN_CONFIRM_MS);
        return;
      }
      clearTimeout(armed);
      armed = null;
      setText(button, "Ban");
      run("user.ban", { user_id: userId }, button);
    });
    return button;
  }

  function messageTools(message) {
    names.set(message.user_id, message.name);
    const who = message.name || message.user_id;
    const tools = [
      el("button", {
        type: "button", class: "btn btn-small btn-secondary", text: "Delete", "aria-label": `Delete message from ${who}`,
        on: { click: (ev) => run("chat.delete", { message_id: message.id }, ev.currentTarget) },
      }),
    ];
    // Mute and Ban are for viewers; the host and other staff are not moderated from here.
    if (message.role === "viewer" && message.user_id !== channel.you?.user_id) {
      tools.push(
        el("button", {
          type: "button", class: "btn btn-small btn-secondary", text: "Mute 5 min", "aria-label": `Mute ${who} for 5 minutes`,
          on: { click: (ev) => run("user.mute", { user_id: message.user_id, seconds: MUTE_SECONDS }, ev.currentTarget) },
        }),
        banButton(message.user_id, `Ban ${who}`),
      );
    }
    return tools;
  }

  bindRoomHeader(channel);
  new ChatView($("[data-chat]"), { empty: $("[data-chat-empty]"), actions: messageTools }).follow(channel);
  new ChatForm($("[data-chat-form]"), channel);
  new ProductPanel($("[data-products-panel]"), channel, { room, onError: showError });

  // --- slow mode ----------------------------------------------------------------------------
  const slowSet = $("[data-slow-mode]");
  const slowStatus = $("[data-slow-mode-status]");
  let slowMode = 0;
  function showSlowMode(seconds) {
    slowMode = seconds;
    for (const radio of slowSet.querySelectorAll("input")) radio.checked = Number(radio.value) === seconds;
    setText(slowStatus, seconds > 0 ? `On: one message every ${seconds} s (moderators and the host are exempt).` : "Off.");
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
          el("span", { class: "member-name", text: m.name || "(no name yet)" }),
          el("span", { class: `badge role-${m.role}`, text: m.role }),
          el("span", { class: "member-id muted", text: m.connections > 1 ? `${m.user_id} · ${m.connections} connections` : m.user_id }),
        ),
      ),
    );
    setText(membersStatus, `${people.size} ${people.size === 1 ? "person" : "people"} at ${formatTime(Date.now())}.`);
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
        type: "button", class: "btn btn-small btn-secondary", text: undo.label, "aria-label": `${undo.label} ${undo.who}`,
        on: { click: (ev) => run(undo.cmd, { user_id: undo.userId }, ev.currentTarget) },
      }));
    }
    activity.prepend(item);
    while (activity.children.length > MAX_ACTIVITY) activity.lastElementChild.remove();
    activityEmpty.hidden = true;
  }
  const by = (event) => (event.by === channel.you?.user_id ? "you" : nameOf(event.by));
  channel.on("chat.deleted", (event) => log(`A message was deleted by ${by(event)}.`));
  channel.on("user.muted", (event) => {
    const who = nameOf(event.user_id);
    log(`${who} was muted until ${formatTime(event.until)} by ${by(event)}.`, { label: "Unmute", cmd: "user.unmute", userId: event.user_id, who });
  });
  channel.on("user.unmuted", (event) => log(`${nameOf(event.user_id)} was unmuted by ${by(event)}.`));
  channel.on("user.banned", (event) => {
    const who = nameOf(event.user_id);
    log(`${who} was banned by ${by(event)}.`, { label: "Unban", cmd: "user.unban", userId: event.user_id, who });
  });
  channel.on("user.unbanned", (event) => log(`${nameOf(event.user_id)} was unbanned by ${by(event)}.`));
  channel.on("room.slow_mode", (event) =>
    log(event.seconds ? `Slow mode set to ${event.seconds} s by ${by(event)}.` : `Slow mode turned off by ${by(event)}.`));
  channel.on("product.pinned", (event) => log(`${event.product.name} was pinned by ${by(event)}.`));
  channel.on("product.unpinned", (event) => log(`The pin was cleared by ${event.by === "system" ? "the system" : by(event)}.`));

  channel.connect();
}
