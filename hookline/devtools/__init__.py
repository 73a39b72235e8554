"""Tools for people building on hookline, kept apart from what a server runs.

``listen`` (a local verifying receiver), ``simulate`` (random events through the ingest
API), ``catalog_export`` (the generated event reference) and ``fake`` (believable
``data`` for every topic) are used from the CLI, the tests and the benchmark, never by
the API, the worker or the receiver library: a server never imports this package, and
``hookline.receiver`` stays free of aiohttp and Rich.
"""
