"""The PD-minutes and stipend ledger."""
