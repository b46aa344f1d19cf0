# syntax=docker/dockerfile:1
# The Ray head and worker image: Ray, torch and s3gan with its training extras.
# The entrypoint of every job is `python -m s3gan_workers.pipeline --experiment FILE`.
#   GPU (CUDA, also runs on CPU nodes):
#     docker build -f docker/ray.Dockerfile --target gpu -t s3gan-ray:0.1.0 .
#   Cloud TPU hosts (torch-xla is bound to torch 2.9):
#     docker build -f docker/ray.Dockerfile --target tpu -t s3gan-ray:0.1.0-tpu .
ARG RAY_VERSION=2.60.0

FROM rayproject/ray:${RAY_VERSION}-py311-gpu AS source
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /home/ray/s3gan
COPY --chown=ray:users pyproject.toml README.md ./
COPY --chown=ray:users constraints/ constraints/
COPY --chown=ray:users s3gan/ s3gan/
COPY --chown=ray:users operator/ operator/
COPY --chown=ray:users workers/ workers/

FROM source AS gpu
# The constraints pin torch, Ray and every other dependency to the versions CI tests.
RUN pip install -c constraints/cpu.txt '.[train]' \
    && python -c "import torch, ray, s3gan_workers, s3gan.nn"

FROM source AS tpu
RUN pip install '.[train,tpu]' \
    && python -c "import torch_xla, ray, s3gan_workers"
