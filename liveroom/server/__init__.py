"""The composition: the one place that imports every part and plugs them together. The app
factory (app.py), every part's settings read once (settings.py), the command line (cli.py,
`liveroom` and `python -m liveroom.server`), draining on SIGTERM (drain.py), the demo rooms
(demo.py)."""
