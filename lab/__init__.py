"""storestack.lab."""
