"""Command-line tools for people working with the service."""
