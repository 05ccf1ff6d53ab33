"""A WHIP publisher and a WHEP player built on GStreamer's webrtcbin (libnice ICE, an RSA DTLS
certificate, GStreamer's own SDP): clients the server was not written with.

Run by the system interpreter, which has PyGObject and GStreamer's typelibs (Debian's
python3-gi, python3-gst-1.0, gir1.2-gst-plugins-bad-1.0); it imports nothing of the project.

    /usr/bin/python3 gst_client.py publish URL TOKEN vp8|h264-cb|h264-high
    /usr/bin/python3 gst_client.py play URL

It speaks WHIP/WHEP itself: POST the offer, apply the answer, trickle its candidates with
PATCH (If-Match: the ETag), DELETE on SIGTERM. It writes one JSON object per line on stdout:
{"event": "answered", "setup": ..., "video": <the answer's video format line>}, {"event":
"connected"}, and the player {"event": "frame", "n": <the number the picture shows, or
null>} for every decoded picture; {"event": "error", ...} ends it.

The publisher's pictures are the test pattern of clients.py (320x240, the frame number in
binary across the top, bright left and dark right halves below), so the player can say which
frame it decoded and the test can check they count up.
"""

from __future__ import annotations

import json
import signal
import sys
import urllib.error
import urllib.request
from urllib.parse import urljoin

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

W, H, BLOCK, FPS = 320, 240, 40, 30

VIDEO = {
    "vp8": "vp8enc deadline=1 keyframe-max-dist=30 ! rtpvp8pay pt=96 ! "
           "application/x-rtp,media=video,encoding-name=VP8,payload=96",
    "h264-cb": "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 ! "
               "video/x-h264,profile=constrained-baseline ! "
               "rtph264pay pt=96 config-interval=-1 aggregate-mode=zero-latency ! "
               "application/x-rtp,media=video,encoding-name=H264,payload=96",
    # x264 states the least profile its stream needs: High takes CABAC and 8x8 transforms.
    "h264-high": "x264enc tune=zerolatency speed-preset=veryfast key-int-max=30 cabac=true "
                 "dct8x8=true ! "
                 "video/x-h264,profile=high ! "
                 "rtph264pay pt=96 config-interval=-1 aggregate-mode=zero-latency ! "
                 "application/x-rtp,media=video,encoding-name=H264,payload=96",
}
AUDIO = ("audiotestsrc is-live=true wave=sine freq=440 ! audioconvert ! audioresample ! "
         "opusenc ! rtpopuspay pt=111 ! "
         "application/x-rtp,media=audio,encoding-name=OPUS,payload=111 ! webrtc.")
# What the player offers to receive: H.264 constrained baseline and High, VP8; Opus.
PLAYER_VIDEO = ";".join([
    "application/x-rtp,media=video,encoding-name=H264,clock-rate=90000,payload=102,"
    "packetization-mode=(string)1,profile-level-id=(string)42e01f",
    "application/x-rtp,media=video,encoding-name=H264,clock-rate=90000,payload=104,"
    "packetization-mode=(string)1,profile-level-id=(string)640032",
    "application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,payload=96",
])
PLAYER_AUDIO = "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=111"


def say(**event) -> None:
    print(json.dumps(event), flush=True)


def pattern(n: int) -> bytes:
    """An I420 picture of the test pattern showing `n`."""
    top = b"".join(bytes([235 if (n >> bit) & 1 else 16]) * BLOCK for bit in range(8))
    middle = bytes([128]) * W
    bottom = bytes([235]) * (W // 2) + bytes([16]) * (W // 2)
    luma = top * BLOCK + middle * (H // 2 - BLOCK) + bottom * (H // 2)
    return luma + bytes([128]) * (W * H // 2)


def read_pattern(luma: bytes, stride: int) -> int | None:
    row = (H * 3 // 4) * stride
    if luma[row + W // 4] < 180 or luma[row + W * 3 // 4] > 70:
        return None
    return sum(1 << bit for bit in range(8)
               if luma[(BLOCK // 2) * stride + bit * BLOCK + BLOCK // 2] > 128)


class Client:
    def __init__(self, url: str, token: str | None) -> None:
        self.url, self.token = url, token
        self.location: str | None = None
        self.etag = "*"
        self.ufrag = self.pwd = ""
        self.pending: list[tuple[int, str]] = []
        self.loop = GLib.MainLoop()
        self.pipeline: Gst.Pipeline
        self.webrtc: Gst.Element

    # --- HTTP ------------------------------------------------------------------------------
    def request(self, method: str, url: str, body: str | None, content_type: str | None,
                headers: dict[str, str] | None = None):
        req = urllib.request.Request(url, data=body.encode() if body is not None else None,
                                     method=method)
        if content_type:
            req.add_header("Content-Type", content_type)
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        try:
            with urllib.request.urlopen(req, timeout=20) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    def fail(self, message: str, **details) -> None:
        say(event="error", message=message, **details)
        self.loop.quit()

    # --- signalling --------------------------------------------------------------------------
    def start(self) -> None:
        self.webrtc.connect("on-negotiation-needed", lambda *_: GLib.idle_add(self.offer))
        self.webrtc.connect("on-ice-candidate", self.on_candidate)
        self.webrtc.connect("notify::ice-gathering-state", self.on_gathering)
        self.webrtc.connect("notify::connection-state", self.on_state)
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", lambda _bus, msg: self.fail(str(msg.parse_error()[0])))
        self.pipeline.set_state(Gst.State.PLAYING)
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, self.stop)
        self.loop.run()
        self.pipeline.set_state(Gst.State.NULL)

    def ready_to_offer(self) -> bool:
        return True

    def offer(self) -> bool:
        if not self.ready_to_offer():
            return True  # ask again shortly (GLib timeout below)
        promise = Gst.Promise.new_with_change_func(self.on_offer, None)
        self.webrtc.emit("create-offer", None, promise)
        return False

    def on_offer(self, promise: Gst.Promise, _data) -> None:
        reply = promise.get_reply()
        offer = reply.get_value("offer") if reply.has_field("offer") else None
        if offer is None:
            GLib.idle_add(self.fail, "no offer", reply=reply.to_string())
            return
        self.webrtc.emit("set-local-description", offer, Gst.Promise.new())
        text = offer.sdp.as_text()
        for line in text.splitlines():
            if line.startswith("a=ice-ufrag:") and not self.ufrag:
                self.ufrag = line.split(":", 1)[1]
            if line.startswith("a=ice-pwd:") and not self.pwd:
                self.pwd = line.split(":", 1)[1]
        GLib.idle_add(self.post, text)

    def post(self, text: str) -> bool:
        status, headers, body = self.request("POST", self.url, text, "application/sdp")
        if status != 201:
            self.fail("POST refused", status=status, body=body)
            return False
        self.location = urljoin(self.url, headers["Location"])
        self.etag = headers.get("ETag", "*")
        video = [line for line in body.splitlines() if line.startswith(("a=rtpmap:", "a=fmtp:"))]
        say(event="answered", location=headers["Location"],
            setup=sorted({line.split(":", 1)[1] for line in body.splitlines()
                          if line.startswith("a=setup:")}), formats=video)
        _, sdp = GstSdp.SDPMessage.new_from_text(body)
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, sdp)
        self.webrtc.emit("set-remote-description", answer, Gst.Promise.new())
        self.trickle()
        return False

    def on_candidate(self, _webrtc, mline: int, candidate: str) -> None:
        GLib.idle_add(self.queue_candidate, mline, candidate)

    def queue_candidate(self, mline: int, candidate: str) -> bool:
        self.pending.append((mline, candidate))
        self.trickle()
        return False

    def on_gathering(self, webrtc, _spec) -> None:
        if webrtc.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            GLib.idle_add(self.queue_candidate, -1, "")

    def trickle(self) -> None:
        """PATCH what was gathered so far (RFC 8840 fragments), once the session exists."""
        if self.location is None or not self.pending:
            return
        lines = [f"a=ice-ufrag:{self.ufrag}", f"a=ice-pwd:{self.pwd}"]
        for mline, candidate in self.pending:
            if mline < 0:
                lines.append("a=end-of-candidates")
            else:
                lines += [f"a=mid:{mline}", f"a={candidate}"]
        self.pending = []
        status, _headers, body = self.request(
            "PATCH", self.location, "\r\n".join(lines) + "\r\n",
            "application/trickle-ice-sdpfrag", {"If-Match": self.etag})
        if status != 204:
            self.fail("PATCH refused", status=status, body=body)

    def on_state(self, webrtc, _spec) -> None:
        state = webrtc.get_property("connection-state")
        if state == GstWebRTC.WebRTCPeerConnectionState.CONNECTED:
            say(event="connected")
        elif state == GstWebRTC.WebRTCPeerConnectionState.FAILED:
            GLib.idle_add(self.fail, "the peer connection failed")

    def stop(self) -> bool:
        if self.location is not None:
            self.request("DELETE", self.location, None, None)
        self.loop.quit()
        return False


class Publisher(Client):
    def __init__(self, url: str, token: str, codec: str) -> None:
        super().__init__(url, token)
        self.codec = codec
        self.n = 0
        self.pipeline = Gst.parse_launch(
            "webrtcbin name=webrtc bundle-policy=max-bundle "
            f"appsrc name=camera is-live=true format=time caps=video/x-raw,format=I420,"
            f"width={W},height={H},framerate={FPS}/1 ! queue ! {VIDEO[codec]} ! webrtc. "
            + AUDIO)
        self.webrtc = self.pipeline.get_by_name("webrtc")
        self.camera = self.pipeline.get_by_name("camera")
        GLib.timeout_add(1000 // FPS, self.picture)

    def picture(self) -> bool:
        buffer = Gst.Buffer.new_wrapped(pattern(self.n % 256))
        buffer.pts = self.n * Gst.SECOND // FPS
        buffer.duration = Gst.SECOND // FPS
        self.n += 1
        self.camera.emit("push-buffer", buffer)
        return True

    def ready_to_offer(self) -> bool:
        """H.264's profile-level-id is known once the payloader has seen the encoder's first
        picture: offer then, so the offer states the profile really sent."""
        if not self.codec.startswith("h264"):
            return True
        for pad in self.webrtc.sinkpads:
            caps = pad.get_current_caps()
            if caps and caps.get_structure(0).get_string("encoding-name") == "H264":
                return caps.get_structure(0).has_field("profile-level-id")
        return False

    def offer(self) -> bool:
        if not self.ready_to_offer():
            GLib.timeout_add(50, self.offer)
            return False
        return super().offer()


class Player(Client):
    def __init__(self, url: str) -> None:
        super().__init__(url, None)
        self.pipeline = Gst.Pipeline.new("player")
        self.webrtc = Gst.ElementFactory.make("webrtcbin", "webrtc")
        self.webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        self.pipeline.add(self.webrtc)
        recv = GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY
        self.webrtc.emit("add-transceiver", recv, Gst.Caps.from_string(PLAYER_VIDEO))
        self.webrtc.emit("add-transceiver", recv, Gst.Caps.from_string(PLAYER_AUDIO))
        self.webrtc.connect("pad-added", self.on_stream)

    def on_stream(self, _webrtc, pad: Gst.Pad) -> None:
        if pad.direction != Gst.PadDirection.SRC:
            return
        decode = Gst.ElementFactory.make("decodebin")
        decode.connect("pad-added", self.on_decoded)
        self.pipeline.add(decode)
        decode.sync_state_with_parent()
        pad.link(decode.get_static_pad("sink"))

    def on_decoded(self, _decode, pad: Gst.Pad) -> None:
        kind = pad.get_current_caps().get_structure(0).get_name()
        if kind.startswith("video"):
            chain = Gst.parse_bin_from_description(
                "videoconvert ! video/x-raw,format=I420 ! "
                "appsink name=pictures emit-signals=true sync=false", True)
            chain.get_by_name("pictures").connect("new-sample", self.on_picture)
        else:
            chain = Gst.parse_bin_from_description("fakesink sync=false", True)
        self.pipeline.add(chain)
        chain.sync_state_with_parent()
        pad.link(chain.get_static_pad("sink"))

    def on_picture(self, sink) -> Gst.FlowReturn:
        sample = sink.emit("pull-sample")
        structure = sample.get_caps().get_structure(0)
        width, height = structure.get_int("width")[1], structure.get_int("height")[1]
        buffer = sample.get_buffer()
        ok, info = buffer.map(Gst.MapFlags.READ)
        if ok:
            try:
                stride = (width + 3) // 4 * 4  # I420's luma rows, as GStreamer lays them out
                n = read_pattern(bytes(info.data), stride) if (width, height) == (W, H) else None
            finally:
                buffer.unmap(info)
            say(event="frame", n=n)
        return Gst.FlowReturn.OK


def main(argv: list[str]) -> int:
    Gst.init(None)
    if argv[0] == "publish":
        Publisher(argv[1], argv[2], argv[3]).start()
    elif argv[0] == "play":
        Player(argv[1]).start()
    else:
        raise SystemExit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
