"""Everything served without a token: the /ob documents, baked images, the badge page."""
