"""Live video: WebRTC signaling (room channel commands, WHIP, WHEP) and the relay that forwards
a host's encoded media to every viewer (aiortc). The only package that imports aiortc.

    registry.py           every peer session of this instance, and the background checks
    peers.py              a publisher's or a viewer's peer connection
    relay.py              Sources and ForwardTracks: encoded frames from one to many
    rtp_fanout.py         one viewer's RTP headers over packets shared by all (and its NACKs)
    aiortc_forwarding.py  the only code that reaches into aiortc's internals (Wire: the lean
                          sender that writes those packets)
    sdp.py                offer checks and the codec choice (h264.py: any H.264 profile)
    service.py            publish / play / trickle / stop, here or routed (routing.py)
    legs.py               relay legs: a room's media from its origin instance, served here
    leg_feed.py           the origin's end of relay legs (leg_wire.py: the format;
                          leg_auth.py: who may open one)
    media_metrics.py      its Prometheus metrics, read from the registry when scraped
    http.py               WHIP and WHEP (cors.py: for pages of other origins)
    commands.py           the room channel commands
    ice.py                STUN/TURN servers and TURN credentials
    trickle.py            how many remote candidates a session takes, and how fast
    peer_addresses.py     which addresses the server sends ICE checks to
    capacity.py           who may open one more peer connection (client_address.py: from where)
    demo_host.py          the synthetic host of demo rooms (testcard.py draws its picture)

    config.py             its settings (MediaSettings)
    setup.py              setup_signaling(): how it plugs into the app

The room's live state lives in the engine (liveroom/engine/media.py), so snapshots and the lobby
show it on every instance. Importing the package loads nothing: aiortc comes with setup.py.
"""
