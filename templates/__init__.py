"""storestack.templates."""
