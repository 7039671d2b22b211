"""Finding passages: jieba terms, BM25, dense vectors and their fusion; ``hybrid.Searcher`` over a store snapshot."""
