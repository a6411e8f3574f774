"""storestack.inventory."""
