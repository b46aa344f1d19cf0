# syntax=docker/dockerfile:1
# The s3gan operator: kopf, the Kubernetes client and the experiment spec; no torch, no Ray.
#   docker build -f docker/operator.Dockerfile -t s3gan-operator:0.1.0 .
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# setuptools needs every package folder pyproject.toml lists; only s3gan.spec and
# s3gan.monitor are imported at run time.
COPY pyproject.toml README.md ./
COPY constraints/ constraints/
COPY s3gan/ s3gan/
COPY operator/ operator/
COPY workers/ workers/
RUN pip install -c constraints/cpu.txt '.[operator]' \
    && python -c "import s3gan_operator.handlers, s3gan.spec" \
    && ! python -c "import torch" 2>/dev/null \
    && rm -rf /src

RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin s3gan
USER 10001
WORKDIR /
# 8080: kopf's liveness probe (/healthz); 9090: Prometheus metrics (/metrics).
EXPOSE 8080 9090
ENTRYPOINT ["s3gan-operator"]
CMD ["--standalone", "--all-namespaces"]
