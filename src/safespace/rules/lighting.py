"""Built-in lighting rules (being written)."""

RULES: list = []
