"""A browser WHIP publisher and WHEP player on another origin (a shop's page): Chromium makes
its preflights, and the server's CORS answers decide. The allowed origin publishes the fake
camera and plays it back; another origin is refused at the preflight and never reaches the
room."""

from __future__ import annotations

from aiohttp import web

from tests.helpers import token

ROOM = "thailand"
MEDIA = {"ice_addresses": ("127.0.0.1",)}

# A minimal WHIP/WHEP client, written as any page would be: fetch(), RTCPeerConnection, the
# Location and ETag headers of the 201, trickled candidates as PATCHes.
CLIENT = """<!doctype html>
<meta charset="utf-8">
<title>Shop page with a WHIP publisher and a WHEP player</title>
<video id="player" muted autoplay playsinline></video>
<script type="module">
const params = new URLSearchParams(location.search);
const server = params.get("server"), room = params.get("room"), token = params.get("token");
window.result = {status: "starting", patches: []};

async function exchange(kind, pc, headers) {
  const endpoint = `${server}/${kind}/rooms/${room}`;
  const pending = [];
  let session = null;
  const trickle = async (candidate) => {
    const frag = `a=mid:${candidate.sdpMid}\\r\\na=${candidate.candidate}\\r\\n`;
    const r = await fetch(session.location, {method: "PATCH", body: frag, headers: {
      ...headers, "Content-Type": "application/trickle-ice-sdpfrag", "If-Match": session.etag}});
    window.result.patches.push(r.status);
  };
  pc.onicecandidate = (e) => {
    if (!e.candidate || !e.candidate.candidate) return;
    if (session) trickle(e.candidate); else pending.push(e.candidate);
  };
  await pc.setLocalDescription(await pc.createOffer());
  const r = await fetch(endpoint, {method: "POST", body: pc.localDescription.sdp,
                                   headers: {...headers, "Content-Type": "application/sdp"}});
  if (r.status !== 201) throw new Error(`${kind} POST: ${r.status} ${await r.text()}`);
  session = {location: new URL(r.headers.get("Location"), endpoint).href,
             etag: r.headers.get("ETag"), links: r.headers.get("Link")};
  await pc.setRemoteDescription({type: "answer", sdp: await r.text()});
  pending.forEach(trickle);
  return session;
}

try {
  const camera = await navigator.mediaDevices.getUserMedia({video: true, audio: true});
  const publisher = new RTCPeerConnection();
  camera.getTracks().forEach((t) => publisher.addTransceiver(t, {direction: "sendonly"}));
  window.result.whip = await exchange("whip", publisher, {Authorization: `Bearer ${token}`});

  const player = new RTCPeerConnection();
  player.addTransceiver("video", {direction: "recvonly"});
  player.addTransceiver("audio", {direction: "recvonly"});
  const stream = new MediaStream();
  player.ontrack = (e) => { stream.addTrack(e.track); };
  document.getElementById("player").srcObject = stream;
  window.result.whep = await exchange("whep", player, {});
  window.result.status = "exchanged";
} catch (error) {
  window.result.status = "refused";
  window.result.error = String(error);
}
</script>
"""


async def shop(aiohttp_server):
    """The shop's own web server: another origin than Liveroom's."""
    async def page(request: web.Request) -> web.Response:
        return web.Response(text=CLIENT, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    srv = await aiohttp_server(app)
    return str(srv.make_url("")).rstrip("/")


async def test_a_page_on_an_allowed_origin_publishes_and_plays(server, aiohttp_server,
                                                               open_page):
    shop_url = await shop(aiohttp_server)
    srv = await server(media_origins=(shop_url,), **MEDIA)
    page = await open_page(f"{shop_url}/?server={srv.base_url}&room={ROOM}"
                           f"&token={token(ROOM, 'host', user='siam', name='Siam')}")
    await page.wait_for_function("window.result && window.result.status !== 'starting'",
                                 timeout=20_000)
    result = await page.evaluate("window.result")
    assert result["status"] == "exchanged", result
    assert "/whip/rooms/thailand/sessions/" in result["whip"]["location"]  # exposed headers
    assert result["whep"]["etag"].startswith('"')
    await page.wait_for_function(
        """() => { const v = document.getElementById("player");
                   return v.videoWidth > 0 && v.currentTime > 0.5; }""", timeout=20_000)
    patches = (await page.evaluate("window.result"))["patches"]
    assert patches and set(patches) == {204}  # trickled across origins too (If-Match allowed)


async def test_a_page_on_another_origin_is_refused_at_the_preflight(server, aiohttp_server,
                                                                   open_page):
    shop_url = await shop(aiohttp_server)
    srv = await server(media_origins=("https://shop.example",), **MEDIA)
    page = await open_page(f"{shop_url}/?server={srv.base_url}&room={ROOM}"
                           f"&token={token(ROOM, 'host', user='siam', name='Siam')}")
    await page.wait_for_function("window.result && window.result.status !== 'starting'",
                                 timeout=20_000)
    result = await page.evaluate("window.result")
    assert result["status"] == "refused" and "Failed to fetch" in result["error"], result
    assert (await srv.app_engine.media.state(ROOM))["publishers"] == {}  # nothing got through
