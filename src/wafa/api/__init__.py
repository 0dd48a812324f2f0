"""The HTTP edge: the FastAPI app, authentication, problem details, metrics."""
