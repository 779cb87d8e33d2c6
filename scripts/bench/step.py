"""What a recipe's training step costs: milliseconds per step of 64 (the recipe's own loss, with its late terms on,
bf16 where the CPU runs it, the discriminator's update included) against a baseline recipe (the demo's LeVAsa unless
--baseline names another), in the same run, taking turns.

    python -m scripts.bench.step levasa-perceptual levasa-adversarial   # recipes by name or path
    python -m scripts.bench.step --baseline levasa-bottleneck levasa    # against another recipe
    python -m scripts.bench.step --quick                                # CI: a few steps of each decoder recipe

The step is the training loop's own (models.train.loop.optimise) on a random batch: a step's cost does not depend on
what the pixels show. The perceptual network is untrained here for the same reason (its cost is its size).
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

BASELINE = "levasa"
DEFAULT = ("vanilla", "levasa-upsample4", "levasa-resize", "levasa-perceptual", "levasa-adversarial")


def make_step(recipe_name: str, batch: int = 64):
    """A function that runs one training step of the recipe on a fixed random batch."""
    from models.device import resolve_device, resolve_precision
    from models.eval.judge import VARegressor
    from models.losses import StepAids
    from models.recipes import load_recipe
    from models.train.adversarial import make_adversary
    from models.train.loop import optimise
    from models.vae import VAE

    cfg = load_recipe(recipe_name).model
    device = resolve_device("auto")
    precision = resolve_precision("auto", device)
    torch.manual_seed(0)
    model = VAE(cfg).to(device).to(memory_format=torch.channels_last).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    aids = StepAids(percept=VARegressor().to(device).eval().requires_grad_(False) if cfg.perceptual_weight else None)
    disc_opt = None
    if cfg.adversarial_weight:
        aids.disc, disc_opt = make_adversary(device)
    x = torch.rand(batch, 3, 64, 64, device=device).contiguous(memory_format=torch.channels_last)
    va = torch.rand(batch, 2, device=device) * 2 - 1

    def step() -> None:
        optimise(model, model, opt, x, va, aids, device, precision, disc_opt)
        if device.type == "cuda":
            torch.cuda.synchronize()

    return step


def median_ms(steps: dict, rounds: int) -> dict[str, float]:
    """Median milliseconds per step of each, after two warm-up rounds; the recipes take turns within each round, so a
    change in the machine's load reaches them all alike."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    for r in range(rounds + 2):
        for name, step in steps.items():
            t0 = time.perf_counter()
            step()
            if r >= 2:
                times[name].append(time.perf_counter() - t0)
    return {name: 1000 * sorted(t)[len(t) // 2] for name, t in times.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.bench.step", description=__doc__.split("\n\n")[0])
    p.add_argument("recipes", nargs="*", default=list(DEFAULT), help="recipe names or paths (default: the decoder "
                   f"recipes: {', '.join(DEFAULT)})")
    p.add_argument("--baseline", default=BASELINE,
                   help=f"the recipe every ratio is over (default {BASELINE}, the demo's)")
    p.add_argument("--steps", type=int, default=20, help="timed steps per recipe")
    p.add_argument("--quick", action="store_true", help="3 timed steps each (CI)")
    args = p.parse_args(argv)
    from models.config import ConfigError
    from models.recipes import load_recipe

    for name in (args.baseline, *args.recipes):
        try:
            load_recipe(name)
        except ConfigError as e:
            p.error(str(e))
    names = [args.baseline, *(n for n in args.recipes if n != args.baseline)]
    ms = median_ms({name: make_step(name) for name in names}, 3 if args.quick else args.steps)
    base = ms[args.baseline]
    print(f"{'recipe':28s} {'ms/step':>8s} {'ratio':>6s}")
    print(f"{args.baseline:28s} {base:8.1f} {1.0:6.2f}  (the baseline)")
    for name in names[1:]:
        print(f"{name:28s} {ms[name]:8.1f} {ms[name] / base:6.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
