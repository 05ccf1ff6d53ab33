// Buying, whether in a flash sale (sale.buy) or a product at its own price (product.buy), and
// what comes after: the order's confirmation, its Pay link, and words for every refusal.
//
// A press of Buy gets one idempotency key. If the answer is lost (the connection dropped, the
// server was busy or draining) the same press is sent again with the same key, by itself once
// the channel is back or when the viewer presses again with the same quantity: the server then
// answers with the order the first attempt made, never a second one. A new quantity, or an
// answer, starts a new press.

import { pageData, t } from "./i18n.js";
import { convertedText, formatMoney } from "./money.js";
import { el, errorText, formatTime } from "./ui.js";

const AUTO_RETRIES = 3;
// Answers that say nothing about the buy: it may or may not have been made. Retry, same key.
const RETRYABLE = new Set(["disconnected", "timeout", "unavailable", "draining", "internal"]);

function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(12)); // randomUUID needs https
  return `buy-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function whenOpen(channel) {
  if (channel.state === "open") return new Promise((resolve) => setTimeout(resolve, 300));
  return new Promise((resolve) => {
    const off = channel.on("status", (s) => {
      if (s.state === "open" || s.state === "closed") (off(), resolve());
    });
  });
}

/** One buy button's presses: `buy(quantity)` resolves with the ack or rejects with the error
 * (err.unanswered: the press may still be pending, and Buy again sends the same key). */
export class Presses {
  constructor(channel, cmd, fields) {
    this.channel = channel;
    this.cmd = cmd;
    this.fields = fields;
    this.press = null;
  }

  /** Whether pressing with this quantity would send the last unanswered press again. */
  retrying(quantity) {
    return Boolean(this.press && this.press.quantity === quantity);
  }

  async buy(quantity, { onRetry = null } = {}) {
    if (!this.press || this.press.quantity !== quantity) this.press = { key: newKey(), quantity };
    const press = this.press;
    for (let attempt = 0; ; attempt++) {
      try {
        const ack = await this.channel.command(this.cmd, { ...this.fields, quantity, idempotency_key: press.key });
        this.press = null;
        return ack;
      } catch (err) {
        if (RETRYABLE.has(err.code) && attempt < AUTO_RETRIES) {
          if (onRetry) onRetry();
          await whenOpen(this.channel);
          continue;
        }
        if (!RETRYABLE.has(err.code)) this.press = null; // a real answer: this press is done
        err.unanswered = Boolean(this.press);
        throw err;
      }
    }
  }
}

/** A refused buy, said precisely, in the page's language. */
export function buyErrorText(err) {
  const f = err.frame || {};
  let text;
  switch (err.code) {
    case "sale_not_started":
      text = f.starts_at ? t("The sale has not started yet: it opens at {time}.", { time: formatTime(f.starts_at) }) : t("The sale has not started yet.");
      break;
    case "sale_ended":
      text = t("Too late: this sale has ended.");
      break;
    case "sale_cancelled":
      text = t("This sale was cancelled.");
      break;
    case "sold_out":
      text = t("Sold out: every unit is taken.");
      break;
    case "not_enough_stock":
      text = t("Only {remaining} left: choose fewer.", { remaining: f.remaining ?? 0 });
      break;
    case "over_limit":
      text = t("You already have {held} of the {limit} allowed per person.", { held: f.held ?? "?", limit: f.limit ?? "?" });
      break;
    case "idempotency_conflict":
      text = t("This press was already used for another quantity. Press Buy again.");
      break;
    case "sale_not_found":
      text = t("This sale no longer exists.");
      break;
    case "product_not_found":
      text = t("That product is no longer in this room.");
      break;
    case "price_changed":
      text = t("The price has just changed to {price}. Check it and press Buy again.", { price: formatMoney(f.price, f.currency) });
      break;
    case "forbidden":
      text = t("Sign in to buy: guests can watch and chat, but not buy.");
      break;
    default:
      text = errorText(err);
  }
  const again = t("Press Try again: you will not be charged twice.");
  return err.unanswered ? `${text} ${again}` : text;
}

/** An order's total in its currency and (at the sale's rates, or today's) the viewer's. */
export function totalText(order, rates = undefined) {
  const converted = convertedText(order.total, order.currency, rates);
  const total = formatMoney(order.total, order.currency);
  return converted ? `${total} (${converted})` : total;
}

/** The confirmation of a new order (`name`: the product's, in the page's language). */
export function orderText(order, rates = undefined, name = order.product_name) {
  const values = { quantity: order.quantity, product: name, total: totalText(order, rates), time: formatTime(order.expires_at) };
  return t("Order confirmed: {quantity} × {product}, {total}. Reserved for you until {time}.", values);
}

/** The shop's checkout for a reserved order, opened in a new tab; null without one. */
export function payLink(order) {
  if (!order.pay_url || order.status !== "reserved") return null;
  return el("a", {
    class: "btn btn-pay", href: order.pay_url, target: "_blank", rel: "noopener noreferrer",
    text: t("Pay {total}", { total: formatMoney(order.total, order.currency) }),
  });
}

/** "Sign in to buy", to the operator's sign-in page (coming back here), or null without one. */
export function signInLink() {
  const template = pageData.signin_url;
  if (!template) return null;
  const back = encodeURIComponent(location.href);
  return el("a", { class: "btn btn-signin", href: template.replaceAll("{return}", back), text: t("Sign in to buy") });
}
