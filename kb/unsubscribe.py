"""Datasette plugin module for the digest's one-click unsubscribe route (RFC 8058)."""
