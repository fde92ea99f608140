"""Built-in sightlines rules (being written)."""

RULES: list = []
