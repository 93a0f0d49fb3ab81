"""The service's name and version, shown in the banner and enviro_build_info."""

SERVICE = "enviro-sensor"
VERSION = "0.1.0"
