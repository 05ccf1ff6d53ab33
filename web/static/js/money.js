// Money: prices in the product's currency and, beside them, in the viewer's (the currency the
// operator gives the page's language, unless the viewer chose one in the header). Rates are
// "CNY per unit" decimal strings. Pages convert product prices with the operator's current
// rates; a flash sale carries the rates it was created with (sale.rates), and its prices are
// converted with those, so what a buyer was shown never moves.

import { locale, pageData } from "./i18n.js";

export let viewerCurrency = pageData.currency || "CNY";
export const liveRates = pageData.rates || {};

const formats = new Map();

/** Another currency to convert to (the viewer chose one, or the language changed). */
export function setViewerCurrency(code) {
  viewerCurrency = code;
}

/** 890 THB → "THB 890.00" (or "฿890.00", as the page's language writes it). */
export function formatMoney(amount, currency) {
  const value = Number(amount);
  if (!Number.isFinite(value) || !currency) return `${amount ?? ""} ${currency ?? ""}`.trim();
  const key = `${locale}|${currency}`;
  let format = formats.get(key);
  if (!format) {
    try {
      format = new Intl.NumberFormat(locale, { style: "currency", currency });
    } catch {
      return `${amount} ${currency}`; // a code Intl does not know
    }
    formats.set(key, format);
  }
  return format.format(value);
}

/** `amount` of `from` in `to`, or null when the rates lack either currency. */
export function convert(amount, from, to, rates) {
  const a = Number(rates?.[from]);
  const b = Number(rates?.[to]);
  if (!(a > 0) || !(b > 0) || !Number.isFinite(Number(amount))) return null;
  return (Number(amount) * a) / b;
}

/** "≈ CN¥178.00" for a price in the viewer's currency, or "" (same currency, or no rate). */
export function convertedText(amount, currency, rates = liveRates) {
  if (currency === viewerCurrency) return "";
  const value = convert(amount, currency, viewerCurrency, rates);
  return value === null ? "" : `≈ ${formatMoney(value, viewerCurrency)}`;
}

/** "THB 890.00 (≈ CN¥178.00)": both prices in one line, for lists. */
export function priceText(amount, currency, rates = liveRates) {
  const other = convertedText(amount, currency, rates);
  return other ? `${formatMoney(amount, currency)} (${other})` : formatMoney(amount, currency);
}

/** How much cheaper `price` is than `regular`, in whole percent (0 when it is not). */
export function percentOff(price, regular) {
  const p = Number(price);
  const r = Number(regular);
  if (!(r > 0) || !(p < r)) return 0;
  return Math.round(((r - p) * 100) / r);
}
