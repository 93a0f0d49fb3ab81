"""Prometheus helpers: the exposition of /metrics, kept samples, sensor health and service metrics."""
