"""Who a caller is: access and internal tokens, signing keys, secret hashing, OIDC federation,
the OAuth token endpoint for API clients, the administrator principal and denied access."""
