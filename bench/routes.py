"""The read-only routes the soak benchmarks ask, in turn."""

READ_ROUTES = [
    "/",
    "/api/sensors",
    "/api/sensors/weather",
    "/api/sensors/gas",
    "/api/sensors/pollution",
    "/api/sensors/i2c",
    "/api/sensors/i2c/aht10",
    "/api/outputs",
    "/metrics",
    "/healthz",
]
