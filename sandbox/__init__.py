"""Local stand-ins for the social networks, with injectable faults, for tests and the demo."""
