print("saved ecs-task/prod")
