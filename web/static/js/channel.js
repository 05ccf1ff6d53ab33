// The room channel in the browser: one WebSocket to /ws/rooms/{room}, commands answered by
// acks, room events delivered to listeners, and automatic reconnection that resumes where the
// page left off (epoch + since), so the page misses nothing and sees nothing twice.
//
//   const channel = new RoomChannel("thailand", {token});
//   channel.on("snapshot", (snap) => render(snap));        // first join, and every resync
//   channel.on("chat.message", (event) => addMessage(event.message));
//   channel.on("closed", ({code, error}) => explain(code, error));
//   channel.connect();
//   await channel.command("chat.send", {text: "hello"});  // resolves with the ack
//
// Listeners also receive: "welcome", "resumed", "status" ({state, attempt, delay}), "error"
// (error frames not tied to a command) and "*" (every event that carries a seq).

// Close codes after which reconnecting cannot help (docs/protocol.md, as in liveroom/client.py).
export const FINAL_CLOSE_CODES = new Set([1000, 1007, 1008, 1009, 4400, 4401, 4403, 4404]);
const RECONNECT_DELAYS_MS = [250, 500, 1000, 2000, 4000, 8000];
const UNAVAILABLE_DELAY_MS = 3000; // 1013: the room service is down or full; give it a moment
const RESTART_SPREAD_MS = 1000; // 1012: this server drains; reconnect now, spread out
const COMMAND_TIMEOUT_MS = 10000;

/** A command the server refused (or could not answer): `code` is a protocol error code. */
export class CommandError extends Error {
  constructor(frame) {
    super(frame.message || frame.code);
    this.name = "CommandError";
    this.code = frame.code;
    this.frame = frame;
  }
}

function storage() {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled: the guest just gets a new identity on every visit
  }
}

export class RoomChannel {
  constructor(room, { token = null, watch = "live" } = {}) {
    this.room = room;
    this.watch = watch; // "replay": shops in the room, not counted as watching it live
    this.pageToken = token; // a host or moderator link; viewers come as guests
    this.guestKey = `liveroom.guest.${room}`;
    this.you = null; // {user_id, name, role, guest} from the last welcome
    this.epoch = null; // position of what this page has rendered
    this.seq = null;
    this.state = "idle"; // idle | connecting | open | reconnecting | closed
    this.ws = null;
    this.attempt = 0;
    this.lastError = null;
    this.listeners = new Map();
    this.pending = new Map();
    this.nextId = 1;
    this.timer = null;
    this.usedStoredToken = false;
    window.addEventListener("online", () => {
      // Back online while waiting to retry: try now rather than after the backoff.
      if (this.state === "reconnecting" && this.ws === null) this.open();
    });
  }

  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type).delete(fn);
  }

  emit(type, data) {
    for (const fn of this.listeners.get(type) || []) {
      try {
        fn(data);
      } catch (err) {
        console.error(`liveroom: a "${type}" listener failed`, err);
      }
    }
  }

  setState(state, extra = {}) {
    this.state = state;
    this.emit("status", { state, attempt: this.attempt, ...extra });
  }

  connect() {
    if (this.state === "idle") this.open();
    return this;
  }

  /** Keep a guest token the server handed out (it carries a chosen name) for reconnects. */
  keepGuestToken(token) {
    if (!token || this.pageToken || storage()?.getItem(this.guestKey) === token) return;
    storage()?.setItem(this.guestKey, token);
    // The browser keeps it too (an HttpOnly cookie the server sets): a reconnect that does not
    // present it, from a fresh tab or after storage was cleared, is still this guest.
    fetch("/api/guest", {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ guest_token: token }),
      credentials: "same-origin",
    }).catch(() => {});
  }

  /** Close for good (no reconnect). */
  close() {
    clearTimeout(this.timer);
    this.setState("closed", { code: 1000 });
    if (this.ws) this.ws.close(1000);
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const params = new URLSearchParams({ format: "json" });
    if (this.watch !== "live") params.set("watch", this.watch);
    const stored = this.pageToken ? null : storage()?.getItem(this.guestKey);
    this.usedStoredToken = Boolean(stored);
    const token = this.pageToken || stored;
    if (token) params.set("access_token", token);
    if (this.epoch !== null && this.seq !== null) {
      params.set("epoch", this.epoch);
      params.set("since", String(this.seq));
    }
    return `${scheme}//${location.host}/ws/rooms/${encodeURIComponent(this.room)}?${params}`;
  }

  open() {
    clearTimeout(this.timer);
    this.lastError = null;
    this.setState(this.attempt ? "reconnecting" : "connecting");
    const ws = (this.ws = new WebSocket(this.url()));
    ws.onmessage = (msg) => {
      if (ws === this.ws && typeof msg.data === "string") this.onFrame(JSON.parse(msg.data));
    };
    ws.onclose = (ev) => {
      if (ws === this.ws) this.onClose(ev.code, ev.reason);
    };
  }

  onFrame(frame) {
    switch (frame.type) {
      case "welcome":
        this.you = frame.you;
        this.keepGuestToken(frame.guest_token);
        this.emit("welcome", frame);
        return;
      case "snapshot": // a first join, a resume that history could not serve, or a reset
        this.epoch = frame.epoch;
        this.seq = frame.seq;
        this.joined();
        this.emit("snapshot", frame);
        return;
      case "resumed": // the missed events follow, then live ones
        this.joined();
        this.emit("resumed", frame);
        return;
      case "ack":
      case "error":
        if (frame.id !== null && this.pending.has(frame.id)) {
          const { resolve, reject, timer } = this.pending.get(frame.id);
          this.pending.delete(frame.id);
          clearTimeout(timer);
          if (frame.type === "ack") resolve(frame);
          else reject(new CommandError(frame));
        } else if (frame.type === "error") {
          this.lastError = frame; // before a 4xxx close: says why
          this.emit("error", frame);
        }
        return;
      default:
        if (typeof frame.seq === "number") {
          if (this.seq !== null && frame.seq <= this.seq) return; // already seen
          this.seq = frame.seq;
        }
        this.emit(frame.type, frame);
        this.emit("*", frame);
    }
  }

  joined() {
    this.attempt = 0;
    this.setState("open");
  }

  onClose(code, reason) {
    this.ws = null;
    this.failPending("disconnected", "the connection dropped before the server answered");
    if (this.state === "closed") return;
    if (code === 4401 && this.usedStoredToken && !this.pageToken) {
      // Our saved guest identity is no longer accepted (expired, or a new server secret).
      storage()?.removeItem(this.guestKey);
      this.attempt += 1;
      this.open();
      return;
    }
    if (FINAL_CLOSE_CODES.has(code)) {
      this.setState("closed", { code, error: this.lastError, reason });
      this.emit("closed", { code, reason, error: this.lastError });
      return;
    }
    const base = RECONNECT_DELAYS_MS[Math.min(this.attempt, RECONNECT_DELAYS_MS.length - 1)];
    const delay = code === 1012 && this.attempt === 0
      ? Math.random() * RESTART_SPREAD_MS // the load balancer sends us to another server
      : Math.max(base, code === 1013 ? UNAVAILABLE_DELAY_MS : 0) * (0.75 + Math.random() / 2);
    this.attempt += 1;
    this.setState("reconnecting", { code, delay });
    this.timer = setTimeout(() => this.open(), delay);
  }

  failPending(code, message) {
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(new CommandError({ type: "error", code, message }));
    }
    this.pending.clear();
  }

  /** Send a command; resolves with its ack, rejects with a CommandError. */
  command(cmd, fields = {}) {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.state !== "open") {
      const message = this.state === "closed" ? "the room channel is closed" : "not connected yet; try again in a moment";
      return Promise.reject(new CommandError({ type: "error", code: "disconnected", message }));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new CommandError({ type: "error", code: "timeout", message: "the server did not answer in time" }));
      }, COMMAND_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify({ ...fields, id, cmd }));
    });
  }
}
