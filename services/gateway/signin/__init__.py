"""People signing in: passwords with lockout, rotating refresh tokens, logout, OIDC federation."""
