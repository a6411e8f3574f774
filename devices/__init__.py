"""storestack.devices."""
