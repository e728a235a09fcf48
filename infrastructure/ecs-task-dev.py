"""Save the dev ECS task block (ecs-task/dev) and its AWS credentials block."""
from ecs_blocks import main

if __name__ == "__main__":
    main("dev", {"dev": {"cpu": "512", "memory": "1024"}})
