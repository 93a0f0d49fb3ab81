"""Settings: how each part declares the ENVIRO_* variables it reads, and the parsers for them."""
