"""Offering search: the words, the filters, the search rows kept in step with every write, and
the two engines that answer alike (the database's full-text index, and the in-memory index)."""
