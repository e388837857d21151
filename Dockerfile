# The dsr-pipeline workers (`dsr run`), installed from the wheel: a first stage builds it from the
# sources, the image installs the dependencies pinned by requirements.lock (hashes checked), then the
# wheel alone. No checkout, no build tools and no test tools in the image.
FROM python:3.11.14-slim-bookworm AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY schemas schemas
COPY gdpr gdpr
COPY handlers handlers
COPY streams streams
COPY mail mail
COPY dsr dsr
COPY templates templates
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

FROM python:3.11.14-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DSR_DATA_DIR=/data DSR_WEB_HOST=0.0.0.0 DSR_ADMIN_HOST=0.0.0.0
COPY requirements.lock /tmp/requirements.lock
RUN pip install --no-cache-dir -r /tmp/requirements.lock
COPY --from=wheel /dist /tmp/dist
RUN pip install --no-cache-dir --no-deps /tmp/dist/dsr_pipeline-*.whl && pip check \
    && rm -rf /tmp/dist /tmp/requirements.lock \
    && useradd --system --home /data dsr && mkdir -p /data && chown dsr /data
USER dsr
WORKDIR /data
VOLUME /data
# Public listener (people, websites) and admin listener (DPO, systems, /metrics: publish it on the internal
# network only), as dsr/settings.py's defaults; the health check asks the admin listener's /livez.
EXPOSE 8080 8081
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/livez' % os.environ.get('DSR_ADMIN_PORT', '8081'), timeout=2)" || exit 1
CMD ["dsr", "run", "--loglevel", "info"]
