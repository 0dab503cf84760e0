# civportal image: web, worker and beat share it (docker-compose.yml).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm gettext curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt ./
RUN python -m venv /app/.venv && /app/.venv/bin/pip install -r requirements.txt
COPY package*.json ./
RUN if [ -f package.json ]; then npm ci --no-audit --no-fund; fi
COPY . .
RUN DJANGO_SECRET_KEY=build-only-not-secret-build-only-not-secret-build-only DJANGO_DEBUG=0 \
    /app/.venv/bin/python manage.py collectstatic --noinput -v 0
RUN useradd --system --home /app civportal && mkdir -p /app/var && chown -R civportal /app/var
USER civportal
EXPOSE 8000
CMD ["/app/.venv/bin/gunicorn", "civportal.wsgi", "--config", "/app/gunicorn.conf.py", "--bind", "0.0.0.0:8000", "--workers", "5", "--access-logfile", "-"]
