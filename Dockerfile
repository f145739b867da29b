# One image for every greenfab service (intake, scoring, workflow, notify, audit, …); compose.yaml picks one by its command.
FROM python:3.11-slim AS base
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1
# durable-rules builds its C core from source.
RUN apt-get update && apt-get install -y --no-install-recommends gcc g++ make && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock README.md LICENSE ./
RUN uv sync --frozen --no-dev --no-install-project
COPY contracts ./contracts
COPY greenfab ./greenfab
COPY greenfab_cli ./greenfab_cli
COPY services ./services
COPY rules ./rules
RUN uv sync --frozen --no-dev
ENV PATH="/app/.venv/bin:$PATH" GREENFAB_HTTP_HOST=0.0.0.0
RUN useradd --system --uid 10001 greenfab
USER greenfab
CMD ["python", "-m", "services.intake"]
