"""What an ECS worker builds from a deployment: prefect-aws's ECSWorker job configuration
from the pool's base job template and the deployment's job variables, as the worker does
for a flow run (prefect/workers/base.py BaseJobConfiguration.from_template_and_values,
which resolves {"$ref": {"block_document_id": ...}} through
prefect/utilities/templating resolve_block_document_references). Prints one JSON line;
the secret key only as whether it matches AWS_SECRET_ACCESS_KEY.

Usage: check_worker.py POOL FLOW/DEPLOYMENT (PREFECT_API_URL set).
"""
import asyncio
import json
import os
import sys

from prefect.client.orchestration import get_client
from prefect_aws.workers.ecs_worker import ECSWorker


async def main(pool: str, name: str) -> None:
    async with get_client() as client:
        wp = await client.read_work_pool(pool)
        dep = await client.read_deployment_by_name(name)
        cfg = await ECSWorker.job_configuration.from_template_and_values(wp.base_job_template, dep.job_variables, client=client)
    creds = cfg.aws_credentials
    secret = creds.aws_secret_access_key.get_secret_value() if creds.aws_secret_access_key else None
    print(json.dumps({
        "cluster": cfg.cluster, "vpc_id": cfg.vpc_id, "execution_role_arn": cfg.execution_role_arn,
        "task_role_arn": cfg.task_run_request.get("overrides", {}).get("taskRoleArn"),
        "cpu": cfg.task_definition.get("cpu"), "memory": cfg.task_definition.get("memory"),
        "image": cfg.task_definition["containerDefinitions"][0].get("image"),
        "aws_access_key_id": creds.aws_access_key_id, "region_name": creds.region_name,
        "secret_matches": secret is not None and secret == os.environ.get("AWS_SECRET_ACCESS_KEY"),
    }, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
