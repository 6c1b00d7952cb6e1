"""CLI commands, one module per area; each module exposes `COMMANDS`."""
