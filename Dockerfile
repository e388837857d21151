# The dsr-pipeline workers (`dsr run`). Templates are read from the source tree, hence the editable install.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DSR_DATA_DIR=/data DSR_WEB_HOST=0.0.0.0
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas schemas
COPY gdpr gdpr
COPY handlers handlers
COPY streams streams
COPY dsr dsr
COPY templates templates
RUN pip install --no-cache-dir -e . && useradd --system --home /data dsr && mkdir -p /data && chown dsr /data
USER dsr
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=2)" || exit 1
CMD ["dsr", "run", "--loglevel", "info"]
