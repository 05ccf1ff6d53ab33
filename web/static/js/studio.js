// The host studio: go live from the browser's camera and microphone (device choice, preview,
// mute either; Stop lets go of both), or from OBS (the WHIP address and this link's token); a
// live panel (time live, viewers, likes, the running sale's stock and orders, "just bought");
// chat; and the room's products with Pin and Unpin.

import { t } from "./i18n.js";
import { LivePublisher, mediaDevices } from "./media.js";
import { ProductPanel } from "./products.js";
import { ChatForm, ChatView, bindRoomHeader, staffPage } from "./roomview.js";
import { SaleBook, clockText, formatDuration, stateLabel, updateStockBar } from "./sales.js";
import { $, el, errorText, formatCount, notice, pageToken, setText } from "./ui.js";

const TICKER_SIZE = 5;

function statusText(state) {
  return {
    idle: "",
    connecting: t("Connecting…"),
    live: t("You are live."),
    stopped: t("You stopped. Your viewers see that you are offline."),
    replaced: t("You went live from another page or device; this one stopped."),
    failed: t("The connection to the server failed. Press Go live to try again."),
  }[state] || "";
}

const page = staffPage();
if (page) {
  const { room, channel, showError } = page;
  bindRoomHeader(channel);
  new ChatView($("[data-chat]"), { empty: $("[data-chat-empty]") }).follow(channel);
  new ChatForm($("[data-chat-form]"), channel);
  new ProductPanel($("[data-products-panel]"), channel, { room, onError: showError });
  setupGoLive(room, channel);
  setupLivePanel(channel);
  setupObs(room);
  channel.connect();
}

// What the host wants to see while live: for how long, how many watch and like, and the sale.
function setupLivePanel(channel) {
  const liveFor = $("[data-live-for]");
  const viewers = $("[data-live-viewers]");
  const likes = $("[data-live-likes]");
  const box = $("[data-live-sale]");
  const none = $("[data-live-sale-none]");
  const ticker = $("[data-ticker]");
  const tickerList = $("[data-ticker-list]");
  const book = new SaleBook(channel);
  const orders = new Map(); // sale id -> its orders (not cancelled or expired), read over REST
  const reading = new Set();
  let since = null;

  // The host may read the room's orders: count the running sale's, at most every 2 s.
  const again = new Set(); // asked while reading: read once more after
  async function countOrders(saleId) {
    if (reading.has(saleId)) return void again.add(saleId);
    reading.add(saleId);
    try {
      const url = `/api/rooms/${encodeURIComponent(channel.room)}/sales/${encodeURIComponent(saleId)}/orders`;
      const response = await fetch(url, { headers: { Authorization: `Bearer ${pageToken()}` }, cache: "no-store" });
      if (response.ok) {
        const list = (await response.json()).orders || [];
        orders.set(saleId, list.filter((o) => o.status === "reserved" || o.status === "paid").length);
        draw();
      }
    } finally {
      setTimeout(() => {
        reading.delete(saleId);
        if (again.delete(saleId)) countOrders(saleId);
      }, 2000);
    }
  }

  channel.on("snapshot", (snap) => {
    since = snap.media?.publishers?.host?.since ?? null;
    setText(viewers, formatCount(snap.viewers));
    setText(likes, formatCount(snap.likes));
  });
  channel.on("media.live", (event) => event.slot === "host" && (since = event.publisher?.since ?? Date.now()));
  channel.on("media.offline", (event) => event.slot === "host" && (since = null));
  channel.on("viewers", (event) => setText(viewers, formatCount(event.count)));
  channel.on("likes", (event) => setText(likes, formatCount(event.total)));
  channel.on("sale.purchases", (event) => {
    countOrders(event.sale_id);
    const name = book.get(event.sale_id)?.product?.name || "";
    for (const buyer of event.buyers || []) {
      tickerList.prepend(el("li", { class: "ticker-item", text: t("{name} just bought {units} × {product}", { name: buyer.name, units: buyer.units, product: name }) }));
    }
    while (tickerList.children.length > TICKER_SIZE) tickerList.lastElementChild.remove();
    ticker.hidden = tickerList.children.length === 0;
    draw();
  });
  book.onChange(() => draw());

  function draw() {
    setText(liveFor, since ? formatDuration(book.now() - since) : "–");
    const sales = book.list().filter((s) => ["live", "sold_out", "scheduled"].includes(s.state));
    const sale = sales.find((s) => s.state === "live") || sales.find((s) => s.state === "sold_out") || sales[0];
    box.hidden = !sale;
    none.hidden = Boolean(sale);
    if (!sale) return;
    if (!orders.has(sale.id)) countOrders(sale.id);
    setText($("[data-live-sale-name]"), sale.product?.name || sale.product_id);
    setText($("[data-live-sale-state]"), stateLabel(sale.state));
    setText($("[data-live-sale-clock]"), clockText(sale, book.now()));
    updateStockBar($("[data-live-sale-bar]"), sale);
    setText($("[data-live-sale-figures]"), t("{sold} sold in {orders} orders · {remaining} of {stock} left", {
      sold: formatCount(sale.sold), orders: formatCount(orders.get(sale.id) || 0),
      remaining: formatCount(sale.remaining), stock: formatCount(sale.stock),
    }));
  }
  setInterval(draw, 1000);
}

// OBS needs the WHIP address and a bearer token: this page's own host token. It is hidden
// until asked for (screen sharing a studio must not leak it), and copied without showing it.
function setupObs(room) {
  const url = `${location.origin}/whip/rooms/${encodeURIComponent(room)}`;
  const token = pageToken() || "";
  const tokenBox = $("[data-whip-token]");
  const reveal = $("[data-reveal-token]");
  const copyStatus = $("[data-copy-status]");
  setText($("[data-whip-url]"), url);
  const masked = tokenBox.textContent;
  reveal.addEventListener("click", () => {
    const show = tokenBox.dataset.concealed === "true";
    tokenBox.dataset.concealed = String(!show);
    setText(tokenBox, show ? token : masked);
    reveal.setAttribute("aria-pressed", String(show));
    setText(reveal, show ? t("Hide") : t("Show"));
  });
  const values = { "whip-url": url, "whip-token": token };
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(values[button.dataset.copy]);
        setText(copyStatus, t("Copied."));
      } catch {
        setText(copyStatus, t("Could not copy: select the text and copy it yourself."));
      }
    });
  }
}

function setupGoLive(room, channel) {
  const preview = $("[data-preview]");
  const previewOff = $("[data-preview-off]");
  const goLive = $("[data-golive]");
  const stop = $("[data-stop]");
  const muteCamera = $("[data-mute-camera]");
  const muteMicrophone = $("[data-mute-microphone]");
  const status = $("[data-golive-status]");
  const badge = $("[data-live-badge]");
  const devices = $("[data-devices]");
  const cameraSelect = $("[data-camera]");
  const microphoneSelect = $("[data-microphone]");

  if (!navigator.mediaDevices || !window.RTCPeerConnection) {
    goLive.disabled = true;
    notice(status, t("This browser cannot stream from here: open the studio over https (or on localhost) in a current browser."), "warn");
    return;
  }

  const publisher = new LivePublisher(channel, preview, {
    onState(state) {
      const on = state === "connecting" || state === "live";
      goLive.hidden = on;
      stop.hidden = !on;
      badge.hidden = state !== "live";
      document.body.dataset.live = state;
      notice(status, statusText(state), state === "failed" ? "error" : "info");
      // Stopped or failed: the camera is let go, so the preview shows "offline" again and
      // the device menus and mute buttons wait for the next Go live.
      if (state !== "connecting" && state !== "live") {
        previewOff.hidden = false;
        muteCamera.disabled = muteMicrophone.disabled = true;
        devices.hidden = true;
        muteCamera.setAttribute("aria-pressed", "false");
        muteMicrophone.setAttribute("aria-pressed", "false");
        setText(muteCamera, t("Turn camera off"));
        setText(muteMicrophone, t("Mute microphone"));
      }
    },
  });

  async function fillDevices() {
    const { cameras, microphones } = await mediaDevices();
    const fill = (select, items, current) => {
      select.replaceChildren(...items.map((d) => el("option", { value: d.deviceId, text: d.label })));
      if (current) select.value = current;
    };
    const tracks = publisher.stream?.getTracks() || [];
    fill(cameraSelect, cameras, tracks.find((t) => t.kind === "video")?.getSettings().deviceId);
    fill(microphoneSelect, microphones, tracks.find((t) => t.kind === "audio")?.getSettings().deviceId);
    devices.hidden = false;
  }

  async function openDevices(choice) {
    await publisher.openDevices(choice);
    previewOff.hidden = true;
    muteCamera.disabled = muteMicrophone.disabled = false;
    await fillDevices();
  }

  goLive.addEventListener("click", async () => {
    goLive.disabled = true;
    try {
      if (!publisher.stream) await openDevices();
      await publisher.goLive();
    } catch (err) {
      const text = err.name === "NotAllowedError"
        ? t("The camera or microphone was not allowed. Allow them in the browser and try again.")
        : err.code ? errorText(err) : t("Could not go live: {reason}", { reason: err.message });
      notice(status, text, "error");
    } finally {
      goLive.disabled = false;
    }
  });
  stop.addEventListener("click", () => publisher.stop());

  const switchDevice = async () => {
    try {
      await openDevices({ camera: cameraSelect.value, microphone: microphoneSelect.value });
    } catch (err) {
      notice(status, t("Could not switch: {reason}", { reason: err.message }), "error");
    }
  };
  cameraSelect.addEventListener("change", switchDevice);
  microphoneSelect.addEventListener("change", switchDevice);

  muteCamera.addEventListener("click", () => {
    const on = publisher.toggle("video");
    muteCamera.setAttribute("aria-pressed", String(!on));
    setText(muteCamera, on ? t("Turn camera off") : t("Turn camera on"));
  });
  muteMicrophone.addEventListener("click", () => {
    const on = publisher.toggle("audio");
    muteMicrophone.setAttribute("aria-pressed", String(!on));
    setText(muteMicrophone, on ? t("Mute microphone") : t("Unmute microphone"));
  });
}
