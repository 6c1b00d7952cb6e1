"""Datasette configuration files (YAML) read by kb.serve."""
