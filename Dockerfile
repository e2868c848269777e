# One container: NiceGUI app + simulator for demo mode. SQLite in /data, or MySQL via DATABASE_URL.
# Pinned: the base image to a patch release (pin its digest too in your registry mirror:
# `FROM python:3.11.14-slim-bookworm@sha256:...`) and uv to one version, so rebuilds are
# reproducible and an upstream change cannot slip in unseen.
FROM python:3.11.14-slim-bookworm AS base

ARG UV_VERSION=0.13.9
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data

RUN pip install --no-cache-dir "uv==${UV_VERSION}" \
    && useradd --create-home --uid 10001 studio \
    && mkdir -p /data && chown studio:studio /data

WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
# The code and the virtual environment stay owned by root: the runtime user can read and run
# them but not change them. It writes only to /data (database, files, session storage).
COPY . .
RUN chmod -R a+rX,go-w /app

USER studio
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"8080\")}/health', timeout=4)"
CMD [".venv/bin/python", "main.py"]
