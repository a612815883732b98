"""Open Badges 2.0 and 3.0 as a pure library: documents, JSON-LD and RDFC-1.0 canonicalization,
proofs (Data Integrity, VC-JWT, OB 2.0 JWS), status lists, baking, key encodings, image format
checks, and the bundled contexts and schemas (``reference/``).

It imports no web framework, database, settings, ``shared`` or service code (an import-linter
contract holds it), so it can be tested, benchmarked and reused on its own.
"""
