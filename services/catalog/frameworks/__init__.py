"""Competency frameworks: CASE packages imported, exported and searched, and their item trees."""
