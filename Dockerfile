# Referral intake.  The worker is the default command; the web process is
#   docker run ... IMAGE intake serve --host 0.0.0.0
# (compose.yaml runs both, PostgreSQL and the TLS proxy: README, "Production").
# Configuration: mount a file and name it with INTAKE_CONFIG (default: the
# embedded /app/config/intake.toml).  Secrets (mailbox passwords, OAuth2
# client secrets, DJANGO_SECRET_KEY, DATABASE_URL) come from the environment.
# var/ (the SQLite store, the local Maildir and outbox, a device-code sign-in's
# token cache) is a volume.
# GOV.UK Frontend for the review pages, compiled from frontend/package-lock.json.
FROM node:20-slim AS frontend
WORKDIR /frontend
COPY frontend/package.json frontend/package-lock.json frontend/copy-assets.js ./
COPY frontend/src ./src
RUN npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    INTAKE_HOME=/app \
    INTAKE_CONFIG=/app/config/intake.toml

RUN useradd --create-home --uid 10001 --user-group intake
WORKDIR /app

COPY pyproject.toml constraints.txt README.md ./
COPY parsers ./parsers
COPY intake ./intake
COPY config ./config
COPY --from=frontend /frontend/build ./frontend/build
RUN pip install -c constraints.txt . \
    && mkdir -p /app/var \
    && chown intake:intake /app/var

USER intake
VOLUME ["/app/var"]
EXPOSE 8000
# The worker's health: every mailbox read of late and signing in (/healthz's rules,
# from the database).  compose.yaml gives the web process a check of its own.
HEALTHCHECK --interval=60s --timeout=20s --start-period=120s --retries=3 \
    CMD ["intake", "healthcheck"]
CMD ["intake", "worker"]
