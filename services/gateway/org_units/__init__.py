"""Org units (schools) of a tenant."""
