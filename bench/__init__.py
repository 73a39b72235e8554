"""``make bench``: hookline's end-to-end delivery benchmark (not a test; see bench/run.py)."""
