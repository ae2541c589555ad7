"""WSGI entry for gunicorn: ``gunicorn -w 4 'runtime.wsgi:app'``."""
from .app import create_app

app = create_app()
