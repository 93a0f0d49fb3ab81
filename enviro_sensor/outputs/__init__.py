"""Where readings go: one module per output, each fed by the collector through a hub.

``outputs.base`` is the interface an output implements; ``outputs.hub`` runs
each output on its own thread behind a bounded queue and reports its health;
``outputs.latest`` is the cache the HTTP routes answer from and
``outputs.prometheus`` the measurement gauges of /metrics. See
docs/architecture.md, "Adding an output".
"""
