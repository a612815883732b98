"""People of a tenant as its admin manages them: their details, roles, passwords and enabling."""
