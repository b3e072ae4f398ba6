# Rendered by `shipyard deploy render --target docker` for model 'fraud', version 3.
# Build from the project folder: docker build -f deploy/docker/Dockerfile -t registry.example/fraud:v3 .
# Pin the base by digest in production: docker buildx imagetools inspect python:3.11.7-slim-bookworm
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OMP_NUM_THREADS=1 HOME=/tmp

WORKDIR /app
COPY deploy/docker/requirements.txt /tmp/model-requirements.txt
COPY ./vendor/shipyard-0.1.0-py3-none-any.whl /tmp/shipyard-0.1.0-py3-none-any.whl
RUN pip install -r /tmp/model-requirements.txt "/tmp/shipyard-0.1.0-py3-none-any.whl" \
    && rm -f /tmp/model-requirements.txt

RUN useradd --no-create-home --uid 10001 --user-group shipyard
COPY --chown=10001:10001 . /app
USER 10001

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# Backends and secrets come from the environment at run time: MLFLOW_TRACKING_URI, SHIPYARD_STATE_URL, SHIPYARD_OBJECT_STORE, SHIPYARD_TOKENS.
# The server follows the desired state ('production') in SHIPYARD_STATE_URL's database.
ENTRYPOINT ["shipyard", "serve", "--project", "/app", "--host", "0.0.0.0", "--port", "8000", "--desired", "state", "--workers", "3"]
