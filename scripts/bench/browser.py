"""Headless Chromium for the browser tests and the front-end benchmark: Debian's chromium driven by the pip package
playwright (``playwright install`` cannot download here). The flags keep a closed network quiet: without the
background-networking ones Chromium keeps trying to reach Google's hosts."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class BrowserMissing(RuntimeError):
    pass


def chromium_path() -> str:
    """LEVASA_CHROMIUM, else chromium on PATH (Debian: /usr/bin/chromium); a clear error when there is none."""
    path = os.environ.get("LEVASA_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path or not Path(path).exists():
        raise BrowserMissing("chromium not found: `make test` installs it (apt-get install chromium), or set "
                             "LEVASA_CHROMIUM to a Chromium binary")
    return path


def launch(playwright):
    """A headless Chromium browser (playwright's sync or async API object)."""
    return playwright.chromium.launch(executable_path=chromium_path(), args=FLAGS)


def launch_or_say_why(playwright):
    """launch(), or None after saying on stderr why there is no browser (a benchmark then exits 2)."""
    import sys

    try:
        return launch(playwright)
    except BrowserMissing as e:
        print(f"error: {e}", file=sys.stderr)
        return None
