# LeVAsa Explorer: the service (and the training scripts) in one image.
#   CPU (default):  docker build -t levasa-explorer .
#   CUDA:           docker build -t levasa-explorer:cuda --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 .
# torch / torchvision come from PyTorch's own index (TORCH_INDEX picks the CPU or a CUDA build, matching the host's
# driver); everything else from requirements.txt. PyTorch's CUDA wheels carry their CUDA libraries, so one slim base
# serves both; the NVIDIA container toolkit provides the driver at run time (docker-compose.yml, service api-gpu).
ARG PYTHON=3.11
FROM python:${PYTHON}-slim

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# libgl / glib: opencv-python-headless needs neither; curl is not needed either (the health check uses Python).
WORKDIR /app
COPY requirements.txt .
RUN pip install --index-url "${TORCH_INDEX}" torch==2.13.0 torchvision==0.28.0 \
 && pip install -r requirements.txt \
 && useradd --create-home --uid 10001 levasa

COPY backend/ backend/
COPY configs/ configs/
COPY frontend/ frontend/
COPY models/ models/
COPY scripts/ scripts/

USER levasa
ENV LEVASA_HOST=0.0.0.0 LEVASA_PORT=8000 LEVASA_RUNS_DIR=/app/runs
EXPOSE 8000
# Readiness, not just liveness: 200 once at least one run serves.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:8000/api/ready', timeout=4).status != 200)"]
CMD ["python", "-m", "backend"]
