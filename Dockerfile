# Referral intake.  The worker is the default command; the web process is
#   docker run ... IMAGE intake serve --host 0.0.0.0
# Configuration: mount a file and name it with INTAKE_CONFIG (default: the
# embedded /app/config/intake.toml).  Secrets (mailbox passwords,
# DJANGO_SECRET_KEY, DATABASE_URL) come from the environment.  var/ (the
# SQLite store, the local Maildir and outbox) is a volume.
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
RUN pip install -c constraints.txt . \
    && mkdir -p /app/var \
    && chown intake:intake /app/var

USER intake
VOLUME ["/app/var"]
EXPOSE 8000
CMD ["intake", "worker"]
