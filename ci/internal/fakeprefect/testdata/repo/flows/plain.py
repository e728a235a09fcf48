def not_a_flow():
    return 1
