"""Save the AWS credentials and ECS task blocks of one environment.

Every value comes from an environment variable so that the pipeline can pass the image it
has just published (PREFECT_IMAGE, a digest reference) and keep credentials out of code.
Saving a block also registers its type and needs no AWS access; only running a task does.
"""
import os
import sys
from typing import Dict, Mapping, Optional

REQUIRED = ("PREFECT_IMAGE", "ECS_CLUSTER", "ECS_EXECUTION_ROLE_ARN", "AWS_REGION")


def settings(env: str, sizes: Mapping[str, str], environ: Mapping[str, str] = os.environ) -> Dict:
    """Read the block settings, failing with one line that names every missing variable."""
    missing = [name for name in REQUIRED if not environ.get(name, "").strip()]
    if missing:
        raise SystemExit(
            f"ecs-task-{env}: missing required environment variable(s): {', '.join(missing)}"
        )

    def optional(name: str) -> Optional[str]:
        value = environ.get(name, "").strip()
        return value or None

    def whole(name: str, default: str) -> int:
        raw = environ.get(name, "").strip() or default
        if not raw.isdigit() or int(raw) <= 0:
            raise SystemExit(f"ecs-task-{env}: {name} must be a positive whole number, got {raw!r}")
        return int(raw)

    return {
        "image": environ["PREFECT_IMAGE"].strip(),
        "cluster": environ["ECS_CLUSTER"].strip(),
        "execution_role_arn": environ["ECS_EXECUTION_ROLE_ARN"].strip(),
        "region": environ["AWS_REGION"].strip(),
        "vpc_id": optional("ECS_VPC_ID"),
        "task_role_arn": optional("ECS_TASK_ROLE_ARN"),
        "access_key_id": optional("AWS_ACCESS_KEY_ID"),
        "secret_access_key": optional("AWS_SECRET_ACCESS_KEY"),
        "cpu": whole("ECS_CPU", sizes["cpu"]),
        "memory": whole("ECS_MEMORY", sizes["memory"]),
    }


def save(env: str, blocks: Mapping[str, Mapping[str, str]], environ: Mapping[str, str] = os.environ) -> None:
    """Save aws-credentials/<env> and one ecs-task block per entry of blocks (name -> sizes)."""
    # Imported late so that a missing variable is reported before the slow Prefect import.
    first = settings(env, next(iter(blocks.values())), environ)
    from prefect_aws import AwsCredentials
    from prefect_aws.ecs import ECSTask

    credentials = AwsCredentials(
        aws_access_key_id=first["access_key_id"],
        aws_secret_access_key=first["secret_access_key"],
        region_name=first["region"],
    )
    credentials.save(env, overwrite=True)
    for name, sizes in blocks.items():
        s = settings(env, sizes, environ)
        ECSTask(
            aws_credentials=credentials,
            image=s["image"],
            cluster=s["cluster"],
            vpc_id=s["vpc_id"],
            cpu=s["cpu"],
            memory=s["memory"],
            execution_role_arn=s["execution_role_arn"],
            task_role_arn=s["task_role_arn"],
            launch_type="FARGATE",
            env={"PREFECT_ENV": env},
            stream_output=True,
            configure_cloudwatch_logs=True,
        ).save(name, overwrite=True)
        print(f"saved ecs-task/{name} (image {s['image']}, cpu {s['cpu']}, memory {s['memory']})")
    print(f"saved aws-credentials/{env}")


def main(env: str, blocks: Mapping[str, Mapping[str, str]]) -> None:
    try:
        save(env, blocks)
    except SystemExit:
        raise
    except Exception as exc:  # one line for the pipeline log; the traceback adds nothing here
        print(f"ecs-task-{env}: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise SystemExit(1)
