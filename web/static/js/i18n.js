// The page's language. Strings are translated on the server (web/locale/*/messages.po, read by
// web/i18n.py) and handed over as JSON in #page-data, so no request and no build step stand
// between a page and its words. Mark every string with t() around a string literal: the extractor
// (python -m web.i18n update) only finds literals.
//
//   t("Ends in {time}", {time: "4:12"})   // placeholders are {name}, the same in every language
//
// A page can switch language in place (switchLanguage): the strings of every language come
// from GET /i18n/{lang}; text the templates marked (data-t, data-t-<attribute>) is replaced,
// and the modules redraw what they wrote, on the "liveroom:language" event (onLanguage). The
// bindings below are live: read them when drawing, never keep a copy.

const data = JSON.parse(document.getElementById("page-data")?.textContent || "{}");

/** Everything the server told the page: lang, locale, messages, currency, rates, ... */
export const pageData = data;
export let lang = data.lang || "en";
/** A BCP 47 tag for Intl formatting (numbers, money, times) in the page's language. */
export let locale = data.locale || "en";
let messages = data.messages || {};
const LANGUAGE_EVENT = "liveroom:language";

/** The translation of `msgid`, with {name} placeholders filled from `values`. */
export function t(msgid, values = null) {
  const text = messages[msgid] || msgid;
  if (!values) return text;
  return text.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
}

/** A record's text in the page's language: its translations[lang] over its own fields. */
export function localized(record) {
  const texts = record?.translations?.[lang];
  return texts ? { ...record, ...texts } : record;
}

/** Run fn now and again whenever the page switches language. */
export function onLanguage(fn, { now = false } = {}) {
  document.addEventListener(LANGUAGE_EVENT, () => fn(lang));
  if (now) fn(lang);
}

/** Switch the page to another language without reloading it (the video keeps playing). */
export async function switchLanguage(code) {
  const response = await fetch(`/i18n/${encodeURIComponent(code)}`, { cache: "no-store" });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const next = await response.json();
  messages = next.messages;
  lang = next.lang;
  locale = next.locale;
  document.documentElement.lang = next.locale;
  translateDocument();
  document.dispatchEvent(new CustomEvent(LANGUAGE_EVENT, { detail: next }));
  return next;
}

/** Put the marked template text (data-t, data-t-placeholder, ...) into the current language. */
export function translateDocument(root = document) {
  for (const node of root.querySelectorAll("[data-t]")) {
    const slots = new Map([...node.querySelectorAll(":scope > [data-slot]")].map((s) => [s.dataset.slot, s]));
    const parts = t(node.dataset.t).split(/\{(\w+)\}/);
    node.replaceChildren(...parts.map((part, i) => (i % 2 ? slots.get(part) || `{${part}}` : part)));
  }
  for (const attribute of ["aria-label", "placeholder", "title"]) {
    const key = `data-t-${attribute}`;
    for (const node of root.querySelectorAll(`[${key}]`)) node.setAttribute(attribute, t(node.getAttribute(key)));
  }
}
