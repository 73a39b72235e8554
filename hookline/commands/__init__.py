"""The ``hookline`` command's parts: what every command shares, and the operator tasks.

``hookline.cli`` assembles them. Nothing here imports FastAPI: only ``serve`` loads the
web app, and it does so when it runs.
"""
