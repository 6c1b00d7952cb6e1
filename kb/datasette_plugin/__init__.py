"""insightkb's Datasette plugin: curation UI, login, metadata. Hooks are registered here."""
