raise ImportError("No module named 'pydantic'")
