"""The two executors of the near-duplicate Flow and the document types they exchange."""
