# The gateway: python -m services.gateway on port 8000, the one published port.
# Build context is the project root: docker build -f docker/gateway.Dockerfile .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# A fixed UID gives files on volumes a predictable owner.
RUN useradd --uid 10001 --user-group --create-home --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies before code, so that a code change reuses this layer: with no package folders
# copied yet, the streamrec wheel carries only its metadata, and the code runs from /app.
# The lock is a constraints file: only the gateway extra (no database driver, no NumPy).
# --only-binary: the slim base has no compiler; a dependency without a wheel fails here.
COPY pyproject.toml README.md requirements.lock ./
RUN pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore \
        --only-binary=:all: -c requirements.lock '.[gateway]' \
    && rm -rf build ./*.egg-info

COPY common/ common/
COPY contracts/ contracts/
COPY services/__init__.py services/
COPY services/gateway/ services/gateway/
COPY docker/healthcheck.py docker/

USER app
# 0.0.0.0: the default 127.0.0.1 would be unreachable from outside the container.
ENV HOST=0.0.0.0 \
    PORT=8000
EXPOSE 8000
CMD ["python", "-m", "services.gateway"]
