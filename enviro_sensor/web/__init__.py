"""The HTTP side: the Flask app, its blueprints (handlers read the cache; none touches hardware), OpenAPI and the gunicorn worker."""
