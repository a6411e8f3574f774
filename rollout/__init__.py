"""storestack.rollout."""
