"""Application shell: settings, composition root, the dsr CLI."""
