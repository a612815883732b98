"""Practicum's four services; each imports only `shared` and the others' `schemas` and `client`."""
