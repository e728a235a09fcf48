# The agent image: Prefect 2 with the flows baked in. The pipeline builds it, tests it by
# deploying from inside it, and publishes it; ECS runs exactly that digest.
ARG BASE_IMAGE=prefecthq/prefect:2.14.21-python3.11
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Entrypoints such as flows/etl.py:daily_sales_etl resolve from here, both when the pipeline
# runs `prefect deployment build` and inside the ECS task (the block's default path).
WORKDIR /opt/prefect

COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY src/ src/
COPY flows/ flows/
COPY infrastructure/ infrastructure/
COPY .prefectignore ./
ENV PYTHONPATH=/opt/prefect/src

# Block registration needs the API, so it happens in the pipeline, not at build time.
ENV PREFECT_QUEUE=default
CMD ["sh", "-c", "exec prefect agent start -q \"$PREFECT_QUEUE\""]
