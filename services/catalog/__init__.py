"""The catalog service: the source of truth for what can be learned: competency frameworks (CASE),
offerings, sessions, registrations, attendance, pathways, search and recommendations.
"""
