"""storestack.components."""
