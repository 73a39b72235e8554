"""The HTTP API: app factory, one router per resource, problem+json errors."""

from hookline.api.app import build_context, create_app

__all__ = ["build_context", "create_app"]
