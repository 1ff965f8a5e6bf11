"""Real test peers started on free loopback ports: one module per protocol."""
