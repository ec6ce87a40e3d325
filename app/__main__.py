"""`python -m app`: the image's entry command, and the one-command local run.

Reads the settings first, so a bad value stops the process with one line naming the
variable (exit status 78, EX_CONFIG) before anything else happens. Then serves on
0.0.0.0:$PORT with uvicorn, which on SIGTERM stops accepting, lets in-flight requests
finish (up to `Tuning.shutdown_grace_seconds`) and exits.
"""

from __future__ import annotations

import json
import sys

EX_CONFIG = 78


def main() -> int:
    from app.config import ConfigError, Tuning, load_settings

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(json.dumps({"level": "CRITICAL", "logger": "app", "message": str(exc)}), flush=True)
        return EX_CONFIG

    import uvicorn

    from app.log_setup import configure_logging
    from app.main import create_app

    configure_logging(settings.log_level)
    tuning = Tuning()
    uvicorn.run(
        create_app(settings, tuning),
        host="0.0.0.0",  # all interfaces: the ALB reaches the task on its ENI
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=True,
        forwarded_allow_ips="*",  # only the load balancer's security group reaches the task
        timeout_keep_alive=tuning.keep_alive_seconds,
        timeout_graceful_shutdown=tuning.shutdown_grace_seconds,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
