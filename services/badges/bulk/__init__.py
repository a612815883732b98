"""Bulk issuance: submitted files, their jobs, and the workers that issue the rows."""
