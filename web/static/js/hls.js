// HLS playback, for viewers WebRTC cannot serve (UDP blocked, or the server's WebRTC places
// taken): the room's live playlist (/hls/rooms/<room>/live.m3u8, docs/protocol.md "HLS")
// played with hls.js, vendored in /static/vendor/hls.js and loaded only when needed.
//
// hls.js runs on the page's thread (enableWorker false): its worker would come from a blob:
// URL, which the Content-Security-Policy does not allow.

const RETRY_MS = 2000;
let library = null;

async function load() {
  library ||= import(new URL("../vendor/hls.js/hls.light.min.mjs", import.meta.url).href)
    .then((module) => module.default);
  return library;
}

/** Whether this browser plays HLS: with Media Source Extensions (hls.js), or natively. */
export async function hlsSupported(video) {
  if (window.MediaSource || window.ManagedMediaSource) return (await load()).isSupported();
  return Boolean(video.canPlayType("application/vnd.apple.mpegurl"));
}

/** One room's live HLS in `video`, retried while the playlist is not there yet (the stream is
 * starting). `onPlaying()` once pictures move. */
export class HlsPlayback {
  constructor(video, url, { onError = null } = {}) {
    this.video = video;
    this.url = url;
    this.onError = onError;
    this.hls = null;
    this.timer = null;
    this.stopped = false;
  }

  async start() {
    this.stop();
    this.stopped = false;
    const Hls = await load();
    if (this.stopped) return;
    this.video.srcObject = null;
    if (!Hls.isSupported()) {
      this.video.src = this.url; // Safari on iOS: native HLS
      this.video.play().catch(() => {});
      return;
    }
    const hls = (this.hls = new Hls({
      enableWorker: false,
      lowLatencyMode: false,
      // Seconds behind the playlist's end, not a count of target durations: a publisher whose
      // keyframes come every 1.07 s makes the target duration 2, and two of those would put
      // the viewer 4 s behind. Drifted further (a stall), it plays a little faster to catch up.
      liveSyncDuration: 1.5,
      liveMaxLatencyDuration: 5,
      maxLiveSyncPlaybackRate: 1.1,
      manifestLoadingMaxRetry: 2,
    }));
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal || hls !== this.hls) return;
      if (this.onError) this.onError(data);
      this.later();
    });
    hls.on(Hls.Events.MANIFEST_PARSED, () => this.video.play().catch(() => {}));
    hls.loadSource(this.url);
    hls.attachMedia(this.video);
  }

  later() {
    clearTimeout(this.timer);
    if (this.hls) this.hls.destroy();
    this.hls = null;
    if (!this.stopped) this.timer = setTimeout(() => this.start(), RETRY_MS);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.hls) this.hls.destroy();
    this.hls = null;
    if (this.video.src && !this.video.srcObject) {
      this.video.removeAttribute("src");
      this.video.load();
    }
  }
}
