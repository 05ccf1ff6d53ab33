// The host studio: go live from the browser's camera and microphone (device choice, preview,
// mute either), viewer count, chat, and the room's products with Pin and Unpin.

import { LivePublisher, mediaDevices } from "./media.js";
import { ProductPanel } from "./products.js";
import { ChatForm, ChatView, bindRoomHeader, staffPage } from "./roomview.js";
import { $, el, errorText, notice, setText } from "./ui.js";

const STATUS = {
  idle: "",
  connecting: "Connecting…",
  live: "You are live.",
  stopped: "You stopped. Your viewers see that you are offline.",
  replaced: "You went live from another page or device; this one stopped.",
  failed: "The connection to the server failed. Press Go live to try again.",
};

const page = staffPage();
if (page) {
  const { room, channel, showError } = page;
  bindRoomHeader(channel);
  new ChatView($("[data-chat]"), { empty: $("[data-chat-empty]") }).follow(channel);
  new ChatForm($("[data-chat-form]"), channel);
  new ProductPanel($("[data-products-panel]"), channel, { room, onError: showError });
  setupGoLive(room, channel);
  channel.connect();
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
  setText($("[data-whip-url]"), `${location.origin}/whip/rooms/${encodeURIComponent(room)}`);

  if (!navigator.mediaDevices || !window.RTCPeerConnection) {
    goLive.disabled = true;
    notice(status, "This browser cannot stream from here: open the studio over https (or on localhost) in a current browser.", "warn");
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
      const text = err.name === "NotAllowedError" ? "The camera or microphone was not allowed. Allow them in the browser and try again." : errorText(err);
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
      notice(status, `Could not switch: ${err.message}`, "error");
    }
  };
  cameraSelect.addEventListener("change", switchDevice);
  microphoneSelect.addEventListener("change", switchDevice);

  muteCamera.addEventListener("click", () => {
    const on = publisher.toggle("video");
    muteCamera.setAttribute("aria-pressed", String(!on));
    setText(muteCamera, on ? "Turn camera off" : "Turn camera on");
  });
  muteMicrophone.addEventListener("click", () => {
    const on = publisher.toggle("audio");
    muteMicrophone.setAttribute("aria-pressed", String(!on));
    setText(muteMicrophone, on ? "Mute microphone" : "Unmute microphone");
  });
}
