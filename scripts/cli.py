"""The ``levasa`` command: one entry point for everything the project does, each verb a thin script in scripts/.

    levasa demo [--serve]              synthetic faces, the demo's two runs, their exports; then the explorer
    levasa train --config configs/levasa.json --name levasa
    levasa evaluate runs/levasa runs/vanilla --out reports/synth
    levasa serve                       the REST service and the explorer page (settings: LEVASA_* variables)
    levasa <command> --help            each command's options, with their defaults

Installed into .venv by ``make`` (an editable install of this repository, declared in pyproject.toml);
``python -m scripts.cli`` is the same.
"""

from __future__ import annotations

import importlib
import os
import sys

# command -> (module with main(argv), one line of what it does). The docs list every command (tests/test_docs.py).
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("scripts.demo", "make the synthetic faces and the demo runs if missing, export them, serve the explorer"),
    "train": ("scripts.train", "train a vanilla or LeVAsa run from a recipe and/or flags (resumable)"),
    "recipes": ("scripts.recipes", "list the recipes in configs/, show one's settings, or what two differ in"),
    "evaluate": ("scripts.evaluate", "evaluate runs on their held-out split; metrics.json and report.html"),
    "export": ("scripts.export", "write what the server shows of a run: latents, thumbnails, projections"),
    "serve": ("backend.__main__", "serve the runs over REST and the explorer page"),
    "import": ("scripts.import_dataset", "index a dataset in its own layout (AffectNet, AFEW-VA, IMFDB, folders)"),
    "transfer": ("scripts.transfer_annotations", "give VA labels to emotion-only datasets by ellipse sampling"),
    "fewshot": ("scripts.fewshot", "label a dataset's VA from a few labelled faces (a support set)"),
    "synth": ("scripts.make_synthetic", "draw the built-in synthetic faces with exact VA labels"),
    "grid": ("scripts.render_va_grid", "draw one synthetic identity across the VA plane (a PNG)"),
    "bench": ("scripts.bench.run_all", "run the benchmarks and print their FIGURE lines (--quick for CI)"),
}


def usage() -> str:
    w = max(map(len, COMMANDS))
    lines = [f"  {name:<{w}}  {what}" for name, (_, what) in COMMANDS.items()]
    return "usage: levasa <command> [options]\n\ncommands:\n" + "\n".join(lines) + \
        "\n\nlevasa <command> --help shows a command's options and their defaults."


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"levasa: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    try:
        return module.main(rest) or 0
    except BrokenPipeError:  # the reader went away (`levasa recipes | head`): stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush cannot raise again
        return 1


if __name__ == "__main__":
    sys.exit(main())
