"""Micro-credential designs: drafts, frozen published versions, the checks of their content."""
