"""HTTP blueprints. Handlers read the service's cache; none touches hardware."""
