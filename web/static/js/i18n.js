// The page's language. Strings are translated on the server (web/locale/*/messages.po, read by
// web/i18n.py) and handed over as JSON in #page-data, so no request and no build step stand
// between a page and its words. Mark every string with t() around a string literal: the extractor
// (python -m web.i18n update) only finds literals.
//
//   t("Ends in {time}", {time: "4:12"})   // placeholders are {name}, the same in every language

const data = JSON.parse(document.getElementById("page-data")?.textContent || "{}");

/** Everything the server told the page: lang, locale, messages, currency, rates. */
export const pageData = data;
export const lang = data.lang || "en";
/** A BCP 47 tag for Intl formatting (numbers, money, times) in the page's language. */
export const locale = data.locale || "en";
const messages = data.messages || {};

/** The translation of `msgid`, with {name} placeholders filled from `values`. */
export function t(msgid, values = null) {
  const text = messages[msgid] || msgid;
  if (!values) return text;
  return text.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
}
