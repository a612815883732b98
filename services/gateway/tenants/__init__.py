"""Districts (tenants), which platform operators manage, and each district's OIDC identity provider."""
