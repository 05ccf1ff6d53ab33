// Live video over the room channel: the viewer's player and the studio's publisher.
//
// Both speak the same commands (docs/protocol.md, "Live video"): media.config for the STUN/TURN
// servers, media.publish or media.subscribe with an SDP offer (answered with an SDP answer and
// a session id), media.candidate to trickle ICE candidates, media.stop to end. Candidates found
// before the answer arrives wait for the session id.

import { t } from "./i18n.js";

const RETRY_MS = 2000;
const FAILED_GRACE_MS = 5000; // "disconnected" this long counts as failed

async function iceServers(channel) {
  try {
    return (await channel.command("media.config")).ice_servers || [];
  } catch {
    return [];
  }
}

/** A peer connection negotiated through the room channel; subclasses pick the direction. */
class ChannelPeer {
  constructor(channel, { onState = null } = {}) {
    this.channel = channel;
    this.onState = onState;
    this.pc = null;
    this.session = null;
    this.pending = [];
    this.failTimer = null;
  }

  async open(cmd, fields, setup) {
    this.close();
    const pc = (this.pc = new RTCPeerConnection({ iceServers: await iceServers(this.channel) }));
    setup(pc);
    pc.addEventListener("icecandidate", (ev) => this.trickle(pc, ev.candidate));
    pc.addEventListener("connectionstatechange", () => this.changed(pc));
    await pc.setLocalDescription(await pc.createOffer());
    let ack;
    try {
      ack = await this.channel.command(cmd, { ...fields, offer: pc.localDescription.sdp });
    } catch (err) {
      if (this.pc === pc) this.close();
      throw err;
    }
    if (this.pc !== pc) {
      this.channel.command("media.stop", { session: ack.session }).catch(() => {});
      return null;
    }
    this.session = ack.session;
    await pc.setRemoteDescription({ type: "answer", sdp: ack.answer });
    for (const candidate of this.pending.splice(0)) this.sendCandidate(candidate);
    return pc;
  }

  trickle(pc, candidate) {
    if (pc !== this.pc) return;
    const item = candidate ? candidate.toJSON() : null;
    if (this.session) this.sendCandidate(item);
    else this.pending.push(item);
  }

  sendCandidate(candidate) {
    this.channel.command("media.candidate", { session: this.session, candidate }).catch(() => {});
  }

  changed(pc) {
    if (pc !== this.pc) return;
    const state = pc.connectionState;
    clearTimeout(this.failTimer);
    if (state === "disconnected") {
      this.failTimer = setTimeout(() => pc === this.pc && this.emit("failed"), FAILED_GRACE_MS);
    }
    this.emit(state);
  }

  emit(state) {
    if (this.onState) this.onState(state);
  }

  /** End the session (best effort: the server also notices a closed connection). */
  close() {
    clearTimeout(this.failTimer);
    if (this.session) this.channel.command("media.stop", { session: this.session }).catch(() => {});
    if (this.pc) this.pc.close();
    this.pc = null;
    this.session = null;
    this.pending = [];
  }
}

/**
 * The viewer's player: follows the room's live state (snapshot, media.live, media.offline) and
 * plays the host's video in `video`, muted (browsers allow muted autoplay) until the viewer
 * unmutes. `onState(state)` gets "offline", "connecting", "playing".
 */
export class LivePlayer {
  constructor(channel, video, { slot = "host", onState = null } = {}) {
    this.channel = channel;
    this.video = video;
    this.slot = slot;
    this.onState = onState;
    this.live = false;
    this.retry = null;
    this.peer = new ChannelPeer(channel, { onState: (s) => this.peerState(s) });
    this.cut = false; // the channel dropped: the instance serving our video may be gone
    video.addEventListener("playing", () => this.live && this.show("playing"));
    channel.on("status", ({ state }) => state === "reconnecting" && (this.cut = true));
    channel.on("snapshot", (snap) => this.follow(Boolean(snap.media?.publishers?.[slot]), this.rejoined()));
    channel.on("resumed", () => this.rejoined() && this.live && this.start());
    channel.on("media.live", (event) => event.slot === slot && this.follow(true, true));
    channel.on("media.offline", (event) => event.slot === slot && this.follow(false));
    window.addEventListener("pagehide", () => this.peer.close());
  }

  /** Back on the channel after it dropped: the video session was held by the instance the
   * channel reached before, which may have gone (a crash, a drain), and the one reached now
   * serves the room's video too; so play from here at once rather than wait for the old
   * peer connection to be declared failed. Whether this join follows a drop. */
  rejoined() {
    const cut = this.cut;
    this.cut = false;
    return cut;
  }

  show(state) {
    this.state = state;
    if (this.onState) this.onState(state);
  }

  follow(live, fresh = false) {
    const was = this.live;
    this.live = live;
    clearTimeout(this.retry);
    if (!live) {
      this.peer.close();
      this.video.srcObject = null;
      this.show("offline");
    } else if (fresh || !was || !this.peer.pc) {
      this.start();
    }
  }

  async start() {
    this.show("connecting");
    try {
      await this.peer.open("media.subscribe", { slot: this.slot }, (pc) => {
        pc.addTransceiver("video", { direction: "recvonly" });
        pc.addTransceiver("audio", { direction: "recvonly" });
        const stream = new MediaStream();
        pc.addEventListener("track", (ev) => {
          stream.addTrack(ev.track);
          if (this.video.srcObject !== stream) this.video.srcObject = stream;
          this.video.play().catch(() => {}); // muted: allowed; otherwise the viewer taps play
        });
      });
    } catch (err) {
      if (err.code === "not_live") return this.follow(false);
      this.later();
    }
  }

  peerState(state) {
    if (state === "failed") this.later();
  }

  later() {
    clearTimeout(this.retry);
    if (this.live) this.retry = setTimeout(() => this.live && this.start(), RETRY_MS);
  }
}

/**
 * The studio's publisher: a camera and microphone (chosen by device id), a preview, going live
 * and stopping, muting either track. `onState(state)` gets "idle", "connecting", "live",
 * "stopped", or "failed".
 */
export class LivePublisher {
  constructor(channel, preview, { onState = null } = {}) {
    this.channel = channel;
    this.preview = preview;
    this.onState = onState;
    this.stream = null;
    this.wanted = false; // the host pressed Go live and has not stopped: keep going out
    this.cut = false;
    this.retry = null;
    this.peer = new ChannelPeer(channel, { onState: (s) => this.peerState(s) });
    channel.on("media.live", (event) => {
      if (this.peer.session && event.publisher?.session === this.peer.session) this.emit("live");
    });
    channel.on("media.offline", (event) => {
      if (this.peer.session && event.session === this.peer.session) {
        this.peer.session = null;
        this.peer.close();
        if (this.wanted && !["replaced", "stopped", "room_deleted"].includes(event.reason)) {
          this.republish(); // the instance we published to failed or lost us: go out again
          return;
        }
        this.wanted = false;
        this.release();
        this.emit(event.reason === "replaced" ? "replaced" : "stopped");
      }
    });
    // The channel dropped and came back (perhaps through another instance, the one we
    // published to having crashed): publish again through the instance reached now.
    channel.on("status", ({ state }) => state === "reconnecting" && (this.cut = true));
    const rejoined = () => {
      if (this.cut && this.wanted) this.republish();
      this.cut = false;
    };
    channel.on("snapshot", rejoined);
    channel.on("resumed", rejoined);
    window.addEventListener("pagehide", () => (this.peer.close(), this.release()));
  }

  emit(state) {
    this.state = state;
    if (this.onState) this.onState(state);
  }

  /** Open (or switch) the camera and microphone; returns the stream, shown in the preview. */
  async openDevices({ camera = null, microphone = null } = {}) {
    const stream = await navigator.mediaDevices.getUserMedia({
      video: camera ? { deviceId: { exact: camera } } : { width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: microphone ? { deviceId: { exact: microphone } } : true,
    });
    const old = this.stream;
    this.stream = stream;
    if (old) {
      // Live already: swap the tracks in place, no new negotiation.
      for (const sender of this.peer.pc?.getSenders() || []) {
        const track = stream.getTracks().find((t) => t.kind === sender.track?.kind);
        if (track) await sender.replaceTrack(track);
      }
      for (const track of old.getTracks()) {
        const next = stream.getTracks().find((t) => t.kind === track.kind);
        if (next) next.enabled = track.enabled;
        track.stop();
      }
    }
    this.preview.srcObject = stream;
    this.preview.play().catch(() => {});
    return stream;
  }

  async goLive() {
    if (!this.stream) await this.openDevices();
    this.emit("connecting");
    try {
      await this.publish();
      this.wanted = true;
    } catch (err) {
      this.emit("failed");
      throw err;
    }
  }

  publish() {
    return this.peer.open("media.publish", {}, (pc) => {
      for (const track of this.stream.getTracks()) {
        pc.addTransceiver(track, { direction: "sendonly", streams: [this.stream] });
      }
    });
  }

  /** Go out again with the same camera, until it works or the host stops: while the old
   * instance's hold on the room lapses (a few seconds after a crash) the server answers
   * unavailable, and the channel may still be reconnecting. */
  async republish() {
    clearTimeout(this.retry);
    if (!this.wanted || !this.stream) return;
    this.emit("connecting");
    try {
      await this.publish();
    } catch (err) {
      if (["forbidden", "unauthorized", "publisher_exists", "room_not_found"].includes(err.code)) {
        this.wanted = false;
        this.release();
        this.emit("failed");
        return;
      }
      this.retry = setTimeout(() => this.republish(), RETRY_MS / 2);
    }
  }

  /** Stop going out, and let go of the camera and microphone (their lights go off): the
   * tracks are stopped and the preview is cleared, so nothing keeps filming after Stop. */
  stop() {
    this.wanted = false;
    clearTimeout(this.retry);
    this.peer.close();
    this.release();
    this.emit("stopped");
  }

  release() {
    for (const track of this.stream?.getTracks() || []) track.stop();
    this.stream = null;
    this.preview.pause();
    this.preview.srcObject = null;
  }

  peerState(state) {
    if (state === "failed") {
      this.peer.close();
      if (this.wanted) {
        this.republish();
        return;
      }
      this.release();
      this.emit("failed");
    }
  }

  /** Turn a track off (black frames or silence are sent) or on; returns whether it is on. */
  toggle(kind) {
    const track = this.stream?.getTracks().find((t) => t.kind === kind);
    if (!track) return false;
    track.enabled = !track.enabled;
    return track.enabled;
  }

  get live() {
    return Boolean(this.peer.session);
  }
}

/** Camera and microphone choices: [{deviceId, label}] per kind (labels once permitted). */
export async function mediaDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  const unnamed = (kind, n) => (kind === "videoinput" ? t("Camera {n}", { n }) : t("Microphone {n}", { n }));
  const pick = (kind) => devices.filter((d) => d.kind === kind).map((d, i) => ({ deviceId: d.deviceId, label: d.label || unnamed(kind, i + 1) }));
  return { cameras: pick("videoinput"), microphones: pick("audioinput") };
}
