"""Retrieval machinery: embedder, dense (FAISS) and lexical (BM25) indexes, fusion, versions."""
