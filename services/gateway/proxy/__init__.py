"""The gateway's edge: proxying to the services, rate limits, readiness and the combined OpenAPI."""
