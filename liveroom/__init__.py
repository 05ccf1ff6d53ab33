"""Liveroom: a live-commerce broadcasting room server."""

__version__ = "0.1.0"
