# The service image: web (gunicorn), worker and scheduler (RQ) run from it with different commands.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY pyproject.toml README.md ./
COPY service ./service
COPY directus/schema ./directus/schema
COPY directus/seed ./directus/seed
COPY hooks ./hooks
RUN pip install --no-deps . && useradd --system --uid 10001 aidj
USER aidj
EXPOSE 8000
# Threads keep slow uploads from blocking a worker; uploads may take minutes on a slow line.
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "4", "--worker-class", "gthread", "--threads", "4", \
     "--timeout", "300", "--access-logfile", "-", "service.web.app:create_app()"]
