"""Issuer profiles and their keys (create, edit, rotate, revoke)."""
