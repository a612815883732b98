"""Issued badges: issuing, listing, status changes, reissue, and the award events."""
