print("saved ecs-task/dev")
