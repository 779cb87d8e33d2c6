"""The recipes in configs/: what each is for, its settings, and what one changes from another.

    levasa recipes                       # every recipe: its data and its about line
    levasa recipes fer-levasa            # one recipe's every setting, defaults filled in (* marks the file's own)
    levasa recipes fer-levasa fer-levasa-swap   # the settings in which two recipes differ

Every recipe file is whole (no recipe extends another), so the file a result cites reproduces it even after the
product's recipes move on; the comparison here is how to read a variant as "its base, with these changes".
"""

from __future__ import annotations

import argparse
import shutil
import sys


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="levasa recipes", description=__doc__.split("\n\n")[0])
    p.add_argument("names", nargs="*", metavar="NAME", help="none: list every recipe; one: show its settings; "
                   "two: the settings in which they differ (a name, or a path to a recipe file)")
    args = p.parse_args(argv)
    if len(args.names) > 2:
        p.error(f"give at most two recipes to compare, got {len(args.names)}")

    from models.config import ConfigError
    from models.recipes import load_recipe, recipe_names

    if not args.names:
        return _list([load_recipe(n) for n in recipe_names()])
    try:
        recipes = [load_recipe(n) for n in args.names]
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return _show(recipes[0]) if len(recipes) == 1 else _compare(*recipes)


def _list(recipes) -> int:
    width = shutil.get_terminal_size((120, 20)).columns
    w = max(len(r.name) for r in recipes)
    for r in recipes:
        data = r.data.name if r.data else "(--data)"
        line = f"{r.name:<{w}}  {data:<11}  {r.about}"
        print(line if len(line) <= width else line[:width - 3] + "...")
    print(f"\n{len(recipes)} recipes in configs/; `levasa recipes NAME` shows one, `levasa recipes A B` compares two")
    return 0


def _show(recipe) -> int:
    from models.recipes import own_settings, recipe_settings

    own = own_settings(recipe)
    print(f"{recipe.name}: {recipe.about}\n")
    settings = recipe_settings(recipe)
    w = max(map(len, settings))
    for key, value in settings.items():
        print(f"  {'*' if key in own else ' '} {key:<{w}}  {value}")
    return 0


def _compare(a, b) -> int:
    from models.recipes import recipe_diff

    diff = recipe_diff(a, b)
    if not diff:
        print(f"{a.name} and {b.name} have the same settings")
        return 0
    rows = [("setting", a.name, b.name), *((k, str(x), str(y)) for k, x, y in diff)]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        print(("  " + "  ".join(f"{c:<{w}}" for c, w in zip(row, widths))).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
