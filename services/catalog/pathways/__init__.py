"""Pathways: named structures of offerings (and other pathways) leading to a credential."""
