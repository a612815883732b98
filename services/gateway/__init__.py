"""The gateway: the one public door. Routing, aggregated readiness and the combined OpenAPI now;
identity, tokens and rate limits from the identity issue on."""
