"""Practicum's infrastructure kernel: no business nouns live here.

Settings base, database helpers, RFC 9457 problems, the service-client base, structured
logging, health checks, the transactional outbox and migration helpers. Every service is
built from these pieces so that one concern has one obvious home.
"""
