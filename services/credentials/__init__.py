"""The credentials service: the source of truth for what an educator has shown: micro-credential
designs, pursuits, evidence, reviews, awards and the PD-hours and stipend ledger.
"""
