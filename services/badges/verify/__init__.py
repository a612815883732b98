"""The verifier: POST /v1/verify, its input (JSON or a baked image) and its checks."""
