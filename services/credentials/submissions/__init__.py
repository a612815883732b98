"""Tier submissions, their review (assignment, scoring, decisions), coaching and the assessor pool."""
