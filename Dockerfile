FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY workers ./workers
RUN pip install . && useradd --system --uid 10001 enrich

USER enrich
ENTRYPOINT ["enrich"]
CMD ["worker"]
