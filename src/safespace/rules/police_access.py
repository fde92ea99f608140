"""Built-in police access rules (being written)."""

RULES: list = []
