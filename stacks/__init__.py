"""storestack.stacks."""
