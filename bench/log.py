"""The one console every part of a run logs to, so progress bars and logs interleave."""

from rich.console import Console

console = Console()
