"""Remote sensor nodes: battery boards elsewhere that push their readings to the service."""
