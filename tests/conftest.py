"""Root of the test tree: makes `testsupport` (helpers shared across test folders) importable."""
