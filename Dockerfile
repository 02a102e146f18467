# The service image: web (gunicorn), worker and scheduler (RQ) run from it with different commands.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# pg_dump and pg_restore for `aidj backup` and `aidj restore` (the same major version as the server).
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY pyproject.toml README.md ./
COPY service ./service
# Compile the set engine's kernels once, into the image (numba's on-disk cache beside the package).
RUN pip install --no-deps . \
    && python -c "from service.dj.sequencing.kernels import warm; warm()" \
    && useradd --system --uid 10001 aidj
USER aidj
EXPOSE 8000
# Settings in service/web/gunicorn_conf.py (WEB_WORKERS, WEB_THREADS); the proxy in front buffers
# every request, so slow clients never hold these threads.
CMD ["gunicorn", "--config", "python:service.web.gunicorn_conf", "--bind", "0.0.0.0:8000", \
     "service.web.app:create_app()"]
