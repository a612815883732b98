"""Achievements and their versions."""
