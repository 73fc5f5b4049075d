"""Placeholder: tables for issue work in progress."""
