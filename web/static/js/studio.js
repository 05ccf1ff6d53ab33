// The host studio: go live from the browser's camera and microphone (device choice, preview,
// mute either), or from OBS (the WHIP address and this link's token), viewer count, chat, and
// the room's products with Pin and Unpin.

import { t } from "./i18n.js";
import { LivePublisher, mediaDevices } from "./media.js";
import { ProductPanel } from "./products.js";
import { ChatForm, ChatView, bindRoomHeader, staffPage } from "./roomview.js";
import { $, el, errorText, notice, pageToken, setText } from "./ui.js";

const STATUS = {
  idle: "",
  connecting: t("Connecting…"),
  live: t("You are live."),
  stopped: t("You stopped. Your viewers see that you are offline."),
  replaced: t("You went live from another page or device; this one stopped."),
  failed: t("The connection to the server failed. Press Go live to try again."),
};

const page = staffPage();
if (page) {
  const { room, channel, showError } = page;
  bindRoomHeader(channel);
  new ChatView($("[data-chat]"), { empty: $("[data-chat-empty]") }).follow(channel);
  new ChatForm($("[data-chat-form]"), channel);
  new ProductPanel($("[data-products-panel]"), channel, { room, onError: showError });
  setupGoLive(room, channel);
  setupObs(room);
  channel.connect();
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
      notice(status, STATUS[state] || "", state === "failed" ? "error" : "info");
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
