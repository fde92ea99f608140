"""Built-in permeability rules (being written)."""

RULES: list = []
