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
    && /opt/fazhi/bin/pip install . \
    && find /opt/fazhi -name __pycache__ -prune -exec rm -rf {} +

# Stage 2: the environment alone, the model exported and the bundled reports indexed.
FROM ${BASE}
COPY --from=build /opt/fazhi /opt/fazhi
ENV PATH=/opt/fazhi/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    FAZHI_CACHE_DIR=/var/lib/fazhi
# Materialise and export the model, index the bundled reports and answer once, so a container answers at once.
# torch is used once here (the ONNX export) and leaves its compile cache in /tmp: dropped.
RUN fazhi index && fazhi ask "太平镇有多少人民调解员？" && rm -rf /tmp/torchinductor_*
VOLUME ["/var/lib/fazhi/index"]
CMD ["fazhi", "serve"]
