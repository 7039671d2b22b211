FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    FAZHI_CACHE_DIR=/var/lib/fazhi

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot bot
COPY retrieval retrieval
COPY embeddings embeddings
COPY seeds seeds

# The CPU build of torch (PyPI's default Linux wheel pulls CUDA), then the package itself.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    && pip install .

# Materialise the model folder and index the bundled reports now, so a container answers at once.
RUN fazhi index && fazhi ask "太平镇有多少人民调解员？"

VOLUME ["/var/lib/fazhi/index"]
CMD ["fazhi", "serve"]
