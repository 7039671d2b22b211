# fazhi-bot: `docker build -t fazhi-bot .`, then `docker run -e TELEGRAM_BOT_TOKEN=… fazhi-bot`.
# Built and tested with buildah by scripts/container-smoke (see the README's Docker section).
ARG BASE=python:3.11-slim

# Stage 1: a virtual environment with the package and its wheels (no compiler is needed: all are wheels).
FROM ${BASE} AS build
# The CPU build of torch (PyPI's default Linux wheel pulls CUDA); any index holding torch==2.13.0 CPU works.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/fazhi
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot bot
COPY retrieval retrieval
COPY embeddings embeddings
COPY seeds seeds
RUN /opt/fazhi/bin/pip install --index-url "$TORCH_INDEX_URL" torch==2.13.0 \
    && /opt/fazhi/bin/pip install .
# Materialise the model, export it for ONNX Runtime (the one use of torch) and index the bundled reports.
# WITH_TORCH=0 (default) then drops torch and sentence-transformers (1 GB): the default model needs neither;
# build with WITH_TORCH=1 for FAZHI_EMBED_MODEL=<another model> or FAZHI_EMBED_RUNTIME=torch.
ARG WITH_TORCH=0
ENV FAZHI_CACHE_DIR=/var/lib/fazhi
RUN /opt/fazhi/bin/fazhi index \
    && if [ "$WITH_TORCH" = 0 ]; then /opt/fazhi/bin/pip uninstall --yes --quiet torch sentence-transformers \
         transformers scikit-learn scipy sympy networkx onnx; fi \
    && find /opt/fazhi -name __pycache__ -prune -exec rm -rf {} +

# Stage 2: the environment and the cache alone (no pip cache, no torch compile cache, no sources).
FROM ${BASE}
COPY --from=build /opt/fazhi /opt/fazhi
COPY --from=build /var/lib/fazhi /var/lib/fazhi
ENV PATH=/opt/fazhi/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    FAZHI_CACHE_DIR=/var/lib/fazhi
# Answer once: proves the image works and leaves the prepared jieba cache in place.
RUN fazhi ask "太平镇有多少人民调解员？"
VOLUME ["/var/lib/fazhi/index"]
CMD ["fazhi", "serve"]
