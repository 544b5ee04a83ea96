# One image for every neuroseller process: `worker` (default), `telegram`, `leads`, `simulate`, ...
#   docker build -t neuroseller .
#   docker run --env-file .env neuroseller worker
# Slim and non-root: the build stage compiles wheels, the runtime stage holds only the venv and the app.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/neuroseller
COPY pyproject.toml README.md ./
COPY neuroseller neuroseller
COPY catalog catalog
COPY workflows workflows
COPY activities activities
COPY workers workers
RUN /opt/neuroseller/bin/pip install ".[all]"
# the intent reader is trained once per corpus at build time (~30 s), not at every container's first start
ENV READER_CACHE_DIR=/opt/neuroseller/reader
RUN /opt/neuroseller/bin/python -m activities.brain.reader.model

FROM python:3.11-slim
ENV PATH=/opt/neuroseller/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VAR_DIR=/var/lib/neuroseller \
    PROFILES_DIR=/app/profiles \
    CATALOG_PATH=/app/catalog/sample/catalog.csv \
    CRM_CSV_PATH=/var/lib/neuroseller/leads.csv \
    READER_CACHE_DIR=/opt/neuroseller/reader
RUN groupadd --system --gid 10001 neuroseller \
    && useradd --system --uid 10001 --gid neuroseller --home-dir /app --shell /usr/sbin/nologin neuroseller \
    && mkdir -p /var/lib/neuroseller && chown neuroseller:neuroseller /var/lib/neuroseller
COPY --from=build /opt/neuroseller /opt/neuroseller
WORKDIR /app
COPY --chown=neuroseller:neuroseller profiles profiles
COPY --chown=neuroseller:neuroseller catalog/sample catalog/sample
USER neuroseller
# SIGTERM drains: the worker stops polling and gives in-flight turns WORKER_GRACEFUL_SHUTDOWN_SECONDS
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "workers.healthcheck"]
ENTRYPOINT ["neuroseller"]
CMD ["worker"]
