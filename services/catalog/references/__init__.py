"""References: other services checking the catalog ids they keep."""
