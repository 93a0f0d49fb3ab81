"""Where readings go: one module per output, each fed by the collector through a hub.

``enviro_sensor.outputs.base`` is the interface an output implements; ``enviro_sensor.outputs.hub`` runs
each output on its own thread behind a bounded queue and reports its health;
``enviro_sensor.outputs.latest`` is the cache the HTTP routes answer from and
``enviro_sensor.outputs.prometheus`` the measurement gauges of /metrics. See
docs/architecture.md, "Adding an output".
"""
