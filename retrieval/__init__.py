"""The answer core: reports → passages → BM25 + FAISS → cited figures. Never imports telegram."""
