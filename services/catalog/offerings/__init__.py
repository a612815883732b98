"""Offerings: the catalog's entries, their lifecycle, how they are listed and searched, the public
catalog, and recommendations."""
