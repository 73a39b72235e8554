"""The measured phases of a run, one module each, in the order a backend meets them.

``ceiling`` (the raw ceiling, no hookline), then per backend ``backend`` starts hookline
and runs ``burst``, ``steady`` and ``probe`` on one database, each through ``measure``
(wait for a quiet machine, publish, wait until delivered, CPU meanwhile); ``profile``
repeats a missed phase under the profiler. ``stage`` holds what the phases share.
"""
