"""The badges service: the source of truth for what anyone can verify: issuers and keys,
achievements, signed Open Badges 2.0 and 3.0 credentials, status lists and the verifier.
"""
