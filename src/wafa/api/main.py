"""The ASGI entry point uvicorn imports: `wafa.api.main:app`."""

from wafa.api.app import create_app

app = create_app()
