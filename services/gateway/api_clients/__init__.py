"""API clients of a tenant: registration, secrets (shown once), scopes, enabling."""
