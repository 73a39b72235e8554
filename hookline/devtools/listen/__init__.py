"""``hookline listen``: a local webhook receiver for engineers building their own.

Before writing a receiver, an engineer wants to see what hookline really sends; while
writing it, to rehearse the awkward cases (retries after a 500, duplicates, a wrong
secret) without deploying anything. The listener verifies every request with the same
library receivers import (:mod:`hookline.receiver`), prints it readably, answers like a
well-behaved receiver would, and can pass verified requests on to the engineer's app.

``server`` holds the behaviour (:class:`Listener`), ``exchange`` the record of one
request it hands to an ``on_request`` callback, ``console`` the printer the CLI uses;
tests collect exchanges in a list instead.
"""

from hookline.devtools.listen.console import ConsolePrinter, render_exchange
from hookline.devtools.listen.exchange import Exchange, Forwarded, OnRequest
from hookline.devtools.listen.server import Listener, base_url, describe, serve_forever

__all__ = [
    "ConsolePrinter",
    "Exchange",
    "Forwarded",
    "Listener",
    "OnRequest",
    "base_url",
    "describe",
    "render_exchange",
    "serve_forever",
]
