"""The readings' history on disk: one SQLite file, written in batches, read by requests.

``enviro_sensor.history.database`` opens the file (WAL, schema migrations, a corrupt file
moved aside), ``enviro_sensor.history.writer`` adds batches of readings and keeps the file
within its retention and size cap, and ``enviro_sensor.history.reader`` answers the
history routes' queries on a connection of its own. The output that feeds
the writer is ``enviro_sensor.outputs.history``.
"""
