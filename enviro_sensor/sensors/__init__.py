"""Sensor kinds, one module per chip, and the table they register in.

``enviro_sensor.sensors.registry`` holds the table; ``enviro_sensor.sensors.config`` turns it and
the settings into the sensors and groups a service runs. Each chip module
(``bme280``, ``ltr559``, ``mics6814``, ``pms5003``, ``aht10``, ``bmp280``)
declares its kind once; see docs/architecture.md, "Adding a sensor".
"""
