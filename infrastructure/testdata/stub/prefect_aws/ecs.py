from prefect_aws import _Block


class ECSTask(_Block):
    _slug = "ecs-task"
