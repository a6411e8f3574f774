"""storestack.common: small primitives every concern shares (atomic files, errors, redaction)."""
