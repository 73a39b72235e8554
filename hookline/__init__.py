"""hookline: a self-hosted, MAAC-compatible webhook platform for LINE marketing."""

__version__ = "0.1.0"
__all__ = ["__version__"]
