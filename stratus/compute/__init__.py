"""See docs/design/compute-contracts.md."""
