"""Save the prod ECS task blocks (ecs-task/prod, ecs-task/prod-large) and AWS credentials."""
from ecs_blocks import main

if __name__ == "__main__":
    main("prod", {"prod": {"cpu": "1024", "memory": "2048"}, "prod-large": {"cpu": "4096", "memory": "16384"}})
