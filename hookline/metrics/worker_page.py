"""``hookline worker --metrics-port``: the counters of a machine that runs no ``serve``.

On a machine with a ``serve``, its ``/metrics`` already sums every process sharing the
directory. A machine of workers alone has nobody to answer Prometheus, so one worker
answers ``GET /metrics`` for the directory (its own counts and its neighbours'), with
the same bearer token (``HOOKLINE_METRICS_TOKEN``). The queue gauges are left to
``serve``: they describe the one shared database, whichever machine reads it.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from hookline.metrics import exposition


def _app(token: str) -> web.Application:
    expected = f"Bearer {token}".encode()

    async def page(request: web.Request) -> web.Response:
        sent = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(sent, expected):
            return web.Response(status=401, text="send 'Authorization: Bearer <metrics token>'\n")
        body = exposition.render(None, writes_failing=None)
        return web.Response(body=body, headers={"Content-Type": exposition.CONTENT_TYPE})

    app = web.Application()
    app.router.add_get("/metrics", page)
    return app


async def start(host: str, port: int | None, token: str) -> web.AppRunner:
    """Serve ``/metrics`` on ``host:port`` until the runner's ``cleanup()``."""
    runner = web.AppRunner(_app(token), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:  # a port in use: release the runner, let the command fail
        await runner.cleanup()
        raise
    return runner
