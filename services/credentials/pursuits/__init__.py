"""Pursuits of a design and their learning plans: one explicit state machine."""
