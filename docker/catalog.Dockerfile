# The catalog service: python -m services.catalog on port 8001.
# Build context is the project root: docker build -f docker/catalog.Dockerfile .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# A fixed UID gives files on volumes a predictable owner.
RUN useradd --uid 10001 --user-group --create-home --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies before code, so that a code change reuses this layer: with no package folders
# copied yet, the streamrec wheel carries only its metadata, and the code runs from /app.
# The lock is a constraints file: only this service's extra, at the versions CI tests.
# --only-binary: the slim base has no compiler; a dependency without a wheel fails here.
COPY pyproject.toml README.md requirements.lock ./
RUN pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore \
        --only-binary=:all: -c requirements.lock '.[catalog]' \
    && rm -rf build ./*.egg-info

COPY common/ common/
COPY contracts/ contracts/
COPY services/__init__.py services/
COPY services/catalog/ services/catalog/
COPY docker/healthcheck.py docker/

USER app
# 0.0.0.0: the default 127.0.0.1 would be unreachable from the other containers.
ENV HOST=0.0.0.0 \
    PORT=8001
EXPOSE 8001
CMD ["python", "-m", "services.catalog"]
