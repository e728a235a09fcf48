"""Save one environment's AWS keys as prefect-aws's AwsCredentials block (Prefect 3).

The pipeline runs this in the image, with the keys as secret variables (never argv), and
the deployments in ecs pools name its fields with Prefect's block placeholders in their
aws_credentials job variable, so the keys never appear in a job variable. Usage: aws_credentials.py NAME
(the environment): saves aws-credentials/NAME, overwriting it; AWS_REGION, when set,
becomes region_name.
"""
import os
import sys


def main(name: str) -> None:
    key_id = os.environ.get("AWS_ACCESS_KEY_ID", "").strip()
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
    if not key_id or not secret.strip():
        raise SystemExit("aws-credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set")
    region = os.environ.get("AWS_REGION", "").strip() or None
    try:
        from prefect_aws import AwsCredentials
    except ImportError as exc:
        raise SystemExit(f"aws-credentials: prefect-aws is not installed in the image ({exc}): install it (requirements.txt) to run flows in ecs pools")
    try:
        AwsCredentials(aws_access_key_id=key_id, aws_secret_access_key=secret, region_name=region).save(name, overwrite=True)
    except Exception as exc:  # one line; a validation error could echo its input
        text = str(exc).replace(secret, "********").splitlines()[0] if str(exc) else ""
        raise SystemExit(f"aws-credentials: save aws-credentials/{name}: {type(exc).__name__}: {text}")
    print(f"saved aws-credentials/{name}" + (f" (region {region})" if region else " (no region: the worker's)"))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: aws_credentials.py NAME")
    main(sys.argv[1])
