"""ProfileRegistry tests."""
