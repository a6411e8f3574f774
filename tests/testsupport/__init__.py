"""Helpers shared by the test folders (imported as `testsupport.*`)."""
