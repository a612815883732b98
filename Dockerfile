# One image for every Practicum service; the command picks what runs (see docker-compose.yml):
#   docker build -t practicum .
#   docker run practicum alembic -n catalog upgrade head
#   docker run practicum uvicorn --factory services.catalog.app:create_app --host 0.0.0.0 --port 8001
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so this layer is rebuilt only when the lock changes.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

RUN groupadd --system --gid 10001 practicum \
    && useradd --system --uid 10001 --gid practicum --create-home practicum

# Code stays owned by root (read-only for the service); only var/ (DATA_DIR) is writable.
COPY alembic.ini ./
COPY migrations/ migrations/
COPY shared/ shared/
COPY services/ services/
RUN mkdir -p var /keys && chown practicum:practicum var /keys

USER 10001:10001

EXPOSE 8000 8001 8002 8003
# Default: the gateway. Services never migrate themselves in production: run
# `alembic -n <service> upgrade head` first (compose's `migrate`); until then /readyz says why it is not ready.
CMD ["uvicorn", "--factory", "services.gateway.app:create_app", "--host", "0.0.0.0", "--port", "8000", "--no-access-log", "--timeout-keep-alive", "75"]
