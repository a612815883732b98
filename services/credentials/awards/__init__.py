"""Awards: a passed tier becomes an award, its ledger entries and the badge it asks for."""
