"""storestack.cli."""
