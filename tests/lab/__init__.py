"""Tests that need root: real namespaces, bridges and processes."""
