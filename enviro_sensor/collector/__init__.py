"""The polling side: one thread per sensor group, timeouts, validation, records to the outputs."""
