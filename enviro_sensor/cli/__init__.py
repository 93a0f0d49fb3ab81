"""The `enviro-sensor` command: serve, check, settings, send-node, healthcheck."""
