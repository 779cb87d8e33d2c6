"""Start the service: python -m backend [--host H] [--port P] [--runs-dir DIR] [--device D]

Settings come from LEVASA_* environment variables (backend/settings.py); the flags override them. A bad setting stops
start-up with a message that names it (exit code 2).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="levasa serve", description=__doc__.split("\n\n")[0])
    p.add_argument("--host", help="interface to listen on (default 127.0.0.1, or LEVASA_HOST)")
    p.add_argument("--port", type=int, help="port (default 8000, or LEVASA_PORT; 0 = any free port)")
    p.add_argument("--runs-dir", help="folder of runs to serve (default runs, or LEVASA_RUNS_DIR)")
    p.add_argument("--device", help="auto, cpu, cuda or cuda:N (default auto, or LEVASA_DEVICE)")
    p.add_argument("--log-level", default="info", help="uvicorn log level (default info)")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes, each loading every run "
                   "(default 1; see the README for the memory each needs)")
    args = p.parse_args(argv)

    from pydantic import ValidationError

    from backend.settings import Settings

    overrides = {k: v for k, v in {"host": args.host, "port": args.port, "runs_dir": args.runs_dir,
                                   "device": args.device}.items() if v is not None}
    try:
        settings = Settings(**overrides)
    except ValidationError as e:
        for err in e.errors():
            name = ".".join(map(str, err["loc"]))
            print(f"error: setting {name} (LEVASA_{name.upper()}): {err['msg']}; got {err.get('input')!r}",
                  file=sys.stderr)
        return 2

    if args.workers < 1:
        print(f"error: --workers must be >= 1, got {args.workers}", file=sys.stderr)
        return 2
    import uvicorn

    from backend.main import create_app

    if args.workers > 1:  # uvicorn spawns the workers: each builds its app from the environment (LEVASA_*)
        for key, value in overrides.items():
            os.environ[f"LEVASA_{key.upper()}"] = str(value)
        logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")
        uvicorn.run("backend.main:create_app", factory=True, host=settings.host, port=settings.port,
                    workers=args.workers, log_level=args.log_level, access_log=False)
        return 0

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")
    config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port,
                            log_level=args.log_level, access_log=False)
    server = uvicorn.Server(config)
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
