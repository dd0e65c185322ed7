"""Start qingdan on the embedded default: SQLite in instance/, demo data, development mode.

    python app.py            # http://127.0.0.1:5000 (HOST / PORT to change)

On first start it creates the schema, the roles, demo accounts and the demo lists from
seed/, and prints how to log in. Production runs `flask --app app db upgrade` and
`flask --app app qingdan init` at deploy time and serves `app:create_app()` with gunicorn.
"""
import os

os.environ.setdefault("QINGDAN_ENV", "development")

from app import create_app  # noqa: E402  (the environment must be set first)
from app.setup import first_start  # noqa: E402

application = create_app()

if __name__ == "__main__":
    with application.app_context():
        for line in first_start():
            print(line, flush=True)
    from app.devserver import run  # plain log lines, a Chinese start message
    run(application, os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "5000")))
