"""Shared fixtures: the real answer core over the bundled seeds (real model, real FAISS, real jieba)."""

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from retrieval.engine import Engine, EngineConfig

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the materialised model lives: $FAZHI_CACHE_DIR (CI keeps it between modules) or a temp dir."""
    configured = os.environ.get("FAZHI_CACHE_DIR")
    return Path(configured) if configured else tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def seed_engine(model_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """An engine whose index is built from the bundled seeds in a fresh directory."""
    config = EngineConfig(index_dir=tmp_path_factory.mktemp("index"), cache_dir=model_cache)
    return Engine.open(config)


@pytest.fixture(scope="session")
def reports_engine(seed_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The seeds with the eight reports of ../shared/eval/reports/docs indexed beside them (built once)."""
    from retrieval.reports.indexing import parse_file

    folder = tmp_path_factory.mktemp("reports-index")
    shutil.copytree(seed_engine.config.index_dir, folder / "index", symlinks=True)
    engine = Engine.open(replace(seed_engine.config, index_dir=folder / "index"), encoder=seed_engine.encoder)
    engine.add_reports([parse_file(path) for path in sorted((SHARED / "eval" / "reports" / "docs").iterdir())])
    return engine


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, model_cache: Path, seed_engine: Engine) -> Path:
    """The environment a `fazhi` command run in-process reads: the seeds' index and the model cache."""
    monkeypatch.setenv("FAZHI_CACHE_DIR", str(model_cache))
    monkeypatch.setenv("FAZHI_INDEX_DIR", str(seed_engine.config.index_dir))
    monkeypatch.delenv("FAZHI_EMBED_MODEL", raising=False)
    return seed_engine.config.index_dir
