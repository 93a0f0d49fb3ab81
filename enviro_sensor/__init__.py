"""enviro-sensor: a Pimoroni Enviro+ board's sensors as JSON, metrics, MQTT and more.

Building an app, opening a board or starting a thread happens only when asked
(``enviro_sensor.web.app.create_app``, the ``enviro-sensor`` command); importing
the package does nothing.
"""
