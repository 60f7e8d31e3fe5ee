# Dealsight service image.
#   CPU (default):  docker build -t dealsight .
#   NVIDIA GPU:     docker build -t dealsight:cuda \
#                     --build-arg BASE_IMAGE=nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04 \
#                     --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu124 .
# Run:  docker run -p 8000:8000 -v dealsight-data:/data dealsight
#       docker run --gpus all -e DEALSIGHT_JOBS__EXECUTOR=celery ... dealsight:cuda worker --queues transcribe
ARG BASE_IMAGE=python:3.11-slim-bookworm

# ---- build stage: compile what needs a compiler, into a virtual environment ----
FROM ${BASE_IMAGE} AS build
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# CUDA base images have no Python 3.11; the slim Python image has it already.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
      $(command -v python3.11 >/dev/null || echo python3.11 python3.11-venv python3.11-dev) \
 && rm -rf /var/lib/apt/lists/*
RUN python3.11 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# Dependencies first, in their own layer: code changes do not re-download them.
COPY .ci/requirements.lock /tmp/requirements.lock
RUN pip install --upgrade "pip>=24" \
 && pip install --extra-index-url "${TORCH_INDEX}" -r /tmp/requirements.lock
COPY pyproject.toml README.md /src/
COPY service /src/service
COPY nlp /src/nlp
COPY models /src/models
COPY migrations /src/migrations
RUN pip install --no-deps /src
# Train the objection model from the labelled data at build time (no model hub needed).
COPY bench/data/insights /src/bench/data/insights
RUN DEALSIGHT_NLP__MODEL_ROOT=/opt/dealsight/models \
    DEALSIGHT_NLP__TRAINING_DATA=/src/bench/data/insights \
    dealsight models build

# ---- runtime stage: no compiler, non-root ----
FROM ${BASE_IMAGE} AS runtime
ENV DEBIAN_FRONTEND=noninteractive
RUN (command -v python3.11 >/dev/null || (apt-get update \
      && apt-get install -y --no-install-recommends python3.11 \
      && rm -rf /var/lib/apt/lists/*)) \
 && useradd --system --create-home --uid 10001 dealsight \
 && mkdir -p /data && chown dealsight /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/dealsight /opt/dealsight
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DEALSIGHT_DATA_DIR=/data \
    DEALSIGHT_NLP__MODEL_ROOT=/opt/dealsight/models \
    HF_HUB_OFFLINE=1
USER dealsight
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
ENTRYPOINT ["dealsight"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
