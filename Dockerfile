# One build, four tags (README, "Scaling out"):
#   docker build --target base    -t neardup-base .      Jina's gateway and the shards' head
#   docker build --target hasher  -t neardup-hasher .
#   docker build --target indexer -t neardup-indexer .
#   docker build --target merger  -t neardup-merger .
# Jina's exported manifests start an executor with `jina executor --uses config.yml` in the
# image's working directory, so each executor image is the base in its executor's folder.
# The code lives in /neardup, not /app: Jina's Compose export mounts volumes on /app.
FROM python:3.11-slim AS base
ENV PYTHONPATH=/neardup PYTHONUNBUFFERED=1 JINA_LOG_LEVEL=INFO
WORKDIR /neardup
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY executors/ executors/

FROM base AS hasher
WORKDIR /neardup/executors/image_hasher

FROM base AS indexer
WORKDIR /neardup/executors/simple_indexer

FROM base AS merger
WORKDIR /neardup/executors/shard_merger
