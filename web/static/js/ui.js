// Small DOM and formatting helpers shared by the pages. Text from users and from the server is
// only ever inserted as text (textContent / text nodes), never parsed as markup.

import { locale, t } from "./i18n.js";

/** document.querySelector that fails loudly when the page lacks an element. */
export function $(selector, root = document) {
  const node = root.querySelector(selector);
  if (!node) throw new Error(`missing element ${selector}`);
  return node;
}

/**
 * Build an element: el("button", {class: "btn", type: "button", on: {click}}, "Pin").
 * `text` sets textContent; `class`, `dataset`, `on` and `hidden` are handled; other props
 * become attributes. Children are nodes or strings (added as text nodes); null is skipped.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "hidden") node.hidden = true;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "on") for (const [type, fn] of Object.entries(value)) node.addEventListener(type, fn);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, ...children);
  return node;
}

export function append(node, ...children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function setText(node, value) {
  node.textContent = value === null || value === undefined ? "" : String(value);
}

/** Kept for the modules that show a price in its own currency only (see money.js). */
export { formatMoney as formatPrice } from "./money.js";

// Formats follow the page's language, which can change in place (i18n.js).
let formatsFor = null;
let counts = null;
let times = null;

function formats() {
  if (formatsFor !== locale) {
    formatsFor = locale;
    counts = new Intl.NumberFormat(locale);
    times = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" });
  }
  return { counts, times };
}

export function formatCount(n) {
  return formats().counts.format(Number(n) || 0);
}

export function formatTime(ms) {
  return formats().times.format(new Date(ms));
}

/** "TH" → 🇹🇭 (two regional indicator symbols); anything else → "". */
export function flagEmoji(countryCode) {
  if (typeof countryCode !== "string" || !/^[A-Za-z]{2}$/.test(countryCode)) return "";
  const base = 0x1f1e6 - "A".charCodeAt(0);
  return String.fromCodePoint(...[...countryCode.toUpperCase()].map((c) => base + c.charCodeAt(0)));
}

/** The token this page was opened with (?token=, moved to sessionStorage by token.js). */
export function pageToken() {
  try {
    const kept = sessionStorage.getItem(`liveroom.token:${location.pathname}`);
    if (kept) return kept;
  } catch {
    /* storage disabled: token.js kept it on the window instead */
  }
  return window.liveroomPageToken || new URLSearchParams(location.search).get("token");
}

/** Initials for an avatar: "Siam Orchard Exports" → "SO". */
export function initials(name) {
  const words = String(name || "").trim().split(/\s+/).filter(Boolean);
  return words.slice(0, 2).map((w) => [...w][0]).join("").toUpperCase();
}

/** Show a message in a notice element (kind: info | warn | error); empty text hides it. */
export function notice(node, text, kind = "info") {
  setText(node, text);
  node.dataset.kind = kind;
  node.hidden = !text;
}

/** Words for why the room channel closed for good, from its close code and error frame. */
export function closedMessage(code, error, closeReason = "") {
  // Bans and room deletions close with a reason but no error frame before it.
  const reason = error?.code || closeReason;
  if (reason === "banned") return t("You are banned from this room.");
  if (reason === "room deleted") return t("This room has ended.");
  if (reason === "token_expired") return t("Your access link has expired. Ask for a new one.");
  if (code === 4401) return t("This link is not valid for this room (missing or invalid token).");
  if (code === 4403) return t("You are not allowed in this room.");
  if (code === 4404) return t("This room no longer exists.");
  if (code === 1009) return t("The connection was closed: a message was too large.");
  if (code === 1000) return t("Disconnected.");
  return t("Disconnected (code {code}).", { code });
}

/** Connection status text for a "status" event from RoomChannel. */
export function statusText(status) {
  switch (status.state) {
    case "connecting":
      return t("Connecting…");
    case "open":
      return t("Connected");
    case "reconnecting":
      return t("Reconnecting…");
    default:
      return t("Offline");
  }
}

/** Explain a refused command in a sentence a person can act on, in the page's language. */
export function errorText(err) {
  const code = err?.code;
  const frame = err?.frame || {};
  const retry = frame.retry_after_ms;
  const waitText = retry ? t("Try again in {seconds} s.", { seconds: Math.ceil(retry / 1000) }) : "";
  const wait = waitText ? ` ${waitText}` : "";
  switch (code) {
    case "slow_mode":
      return t("Slow mode is on.") + wait;
    case "rate_limited":
      return t("You are going too fast.") + wait;
    case "muted":
      return frame.until ? t("You are muted until {time}.", { time: formatTime(frame.until) }) : t("You are muted.");
    case "banned":
      return t("You are banned from this room.");
    case "forbidden":
      return t("You are not allowed to do that.");
    case "name_required":
      return t("Choose a display name first.");
    case "disconnected":
      return t("Not sent: the connection dropped. Try again in a moment.");
    case "timeout":
      return t("Not sent: the server did not answer in time.");
    case "unavailable":
    case "draining":
      return t("The server is busy. Try again in a moment.");
    case "invalid_field":
      return t("Please check this field: {field}.", { field: frame.field || "?" });
    case "product_not_found":
      return t("That product is no longer in this room.");
    case "message_not_found":
      return t("That message is gone already.");
    case "conflict":
      return t("That was already done.");
    default:
      return t("Something went wrong ({code}).", { code: code || "?" });
  }
}
