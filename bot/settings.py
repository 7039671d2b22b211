"""The one settings object, read from the environment once at start-up."""

import os
from dataclasses import dataclass
from pathlib import Path

from embeddings import DEFAULT_MODEL
from retrieval.answers.decide.scope import CANDIDATES, TOP, ScopeConfig
from retrieval.engine import EngineConfig
from retrieval.tools.review import DB_NAME

TELEGRAM_API_URL = "https://api.telegram.org/bot"
TELEGRAM_FILE_URL = "https://api.telegram.org/file/bot"


def _ids(value: str) -> frozenset[int]:
    return frozenset(int(part) for part in value.replace(" ", "").split(",") if part)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything configurable, with its environment variable in the comment."""

    cache_dir: Path  # FAZHI_CACHE_DIR, default ~/.cache/fazhi
    index_dir: Path  # FAZHI_INDEX_DIR, default <cache_dir>/index
    embed_model: str = DEFAULT_MODEL  # FAZHI_EMBED_MODEL: name or path of a sentence-transformers model
    query_prompt: str | None = None  # FAZHI_QUERY_PROMPT, default the model's own "query" prompt
    passage_prompt: str | None = None  # FAZHI_PASSAGE_PROMPT
    threads: int = 1  # FAZHI_THREADS: threads per query embedding
    embed_runtime: str = "auto"  # FAZHI_EMBED_RUNTIME: default model on auto (ONNX when installed) | onnx | torch
    store: str = ""  # FAZHI_STORE: empty = embedded in index_dir; milvus://host:19530 or a Milvus Lite .db file
    telegram_token: str = ""  # TELEGRAM_BOT_TOKEN
    telegram_api_url: str = TELEGRAM_API_URL  # FAZHI_TELEGRAM_API_URL
    telegram_file_url: str = TELEGRAM_FILE_URL  # FAZHI_TELEGRAM_FILE_URL
    allowed_users: frozenset[int] = frozenset()  # FAZHI_ALLOWED_USERS: comma-separated ids; empty = all
    admin_users: frozenset[int] = frozenset()  # FAZHI_ADMIN_USERS: may upload reports, review figures
    review_db: Path | None = None  # FAZHI_REVIEW_DB: reported figures, default <index_dir>/reviews.sqlite3
    compare_top: int = TOP  # FAZHI_COMPARE_TOP: units a comparison shows (the full table comes as a CSV)
    candidates: int = CANDIDATES  # FAZHI_CANDIDATES: passages per retriever for a question over many units

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        cache_dir = Path(env.get("FAZHI_CACHE_DIR") or Path.home() / ".cache" / "fazhi").expanduser()
        return cls(
            cache_dir=cache_dir,
            index_dir=Path(env.get("FAZHI_INDEX_DIR") or cache_dir / "index").expanduser(),
            embed_model=env.get("FAZHI_EMBED_MODEL") or DEFAULT_MODEL,
            query_prompt=env.get("FAZHI_QUERY_PROMPT"),
            passage_prompt=env.get("FAZHI_PASSAGE_PROMPT"),
            threads=int(env.get("FAZHI_THREADS") or 1),
            store=env.get("FAZHI_STORE", "").strip(),
            embed_runtime=env.get("FAZHI_EMBED_RUNTIME") or "auto",
            telegram_token=env.get("TELEGRAM_BOT_TOKEN", "").strip(),
            telegram_api_url=env.get("FAZHI_TELEGRAM_API_URL") or TELEGRAM_API_URL,
            telegram_file_url=env.get("FAZHI_TELEGRAM_FILE_URL") or TELEGRAM_FILE_URL,
            allowed_users=_ids(env.get("FAZHI_ALLOWED_USERS", "")),
            admin_users=_ids(env.get("FAZHI_ADMIN_USERS", "")),
            review_db=Path(env["FAZHI_REVIEW_DB"]).expanduser() if env.get("FAZHI_REVIEW_DB") else None,
            compare_top=max(int(env.get("FAZHI_COMPARE_TOP") or TOP), 1),
            candidates=max(int(env.get("FAZHI_CANDIDATES") or CANDIDATES), 1),
        )

    def review_path(self, index_dir: Path | None = None) -> Path:
        """The review database: FAZHI_REVIEW_DB, else beside the index versions (kept by rebuilds)."""
        return self.review_db or (index_dir or self.index_dir) / DB_NAME

    def engine_config(self, index_dir: Path | None = None) -> EngineConfig:
        return EngineConfig(
            index_dir=index_dir or self.index_dir,
            cache_dir=self.cache_dir,
            model=self.embed_model,
            query_prompt=self.query_prompt,
            passage_prompt=self.passage_prompt,
            threads=self.threads,
            store=self.store,
            runtime=self.embed_runtime,
            scope=ScopeConfig(top=self.compare_top, candidates=self.candidates),
        )
