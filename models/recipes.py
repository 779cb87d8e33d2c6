"""Recipes: a named training setup as a data file, configs/NAME.json, so every result in the docs names the file that
reproduces it (``levasa train --config configs/NAME.json --name NAME``).

A recipe file holds four sections, and no others:
  about   one line: what the recipe is for and what it measured;
  data    the dataset folder it trains on (relative to the repository root; ``--data`` overrides it);
  model   ModelConfig fields that differ from their defaults;
  train   TrainConfig fields that differ from their defaults.
Unknown sections, unknown fields and wrong types are errors (models.config).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from models.config import ConfigError, ModelConfig, TrainConfig

ROOT = Path(__file__).resolve().parent.parent
RECIPES_DIR = ROOT / "configs"
SECTIONS = ("about", "data", "model", "train")
SETTING_SECTIONS = ("model", "train")  # the sections that hold settings, keyed "section.field" below


@dataclass(frozen=True)
class Recipe:
    name: str  # the file's stem
    about: str
    data: Path | None  # the dataset folder, None when the recipe leaves it to the command line
    model: ModelConfig
    train: TrainConfig
    path: Path | None = None  # the file it was read from


def recipe_names() -> list[str]:
    """Every recipe in configs/, by name."""
    return sorted(p.stem for p in RECIPES_DIR.glob("*.json"))


def read_sections(path: str | Path) -> dict:
    """A recipe file's sections as plain dicts, checked for unknown sections (no defaults filled in)."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except OSError as e:
        raise ConfigError(f"cannot read recipe {path}: {e.strerror or e}") from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"recipe {path} is not valid JSON: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"recipe {path} must be a JSON object with sections {', '.join(SECTIONS)}")
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"recipe {path}: unknown section(s) {', '.join(unknown)}; expected {', '.join(SECTIONS)}")
    for key in SETTING_SECTIONS:
        if not isinstance(raw.get(key, {}), dict):
            raise ConfigError(f"recipe {path}: '{key}' must be an object of {key} settings")
    return raw


def recipe_data(sections: dict) -> Path | None:
    """A recipe's dataset folder: its ``data`` section, relative to the repository root (None when it has none)."""
    data = sections.get("data")
    return ROOT / data if data else None


def load_recipe(name_or_path: str | Path) -> Recipe:
    """A recipe by name (configs/NAME.json) or by path; ConfigError names the problem and the known recipes."""
    path = Path(name_or_path)
    if path.suffix != ".json":
        path = RECIPES_DIR / f"{name_or_path}.json"
        if not path.is_file():
            raise ConfigError(f"no recipe {name_or_path!r}; known: {', '.join(recipe_names())}")
    raw = read_sections(path)
    return Recipe(path.stem, str(raw.get("about", "")), recipe_data(raw),
                  ModelConfig.from_dict(raw.get("model", {})), TrainConfig.from_dict(raw.get("train", {})), path)


def recipe_settings(recipe: Recipe) -> dict[str, object]:
    """A recipe's every setting, defaults filled in, as ``section.field`` -> value (and ``data``)."""
    data = str(recipe.data.relative_to(ROOT)) if recipe.data else None
    flat: dict[str, object] = {"data": data}
    for section, config in zip(SETTING_SECTIONS, (recipe.model, recipe.train)):
        flat.update({f"{section}.{key}": value for key, value in config.to_dict().items()})
    return flat


def own_settings(recipe: Recipe) -> set[str]:
    """The settings the recipe's file spells out itself (the rest are defaults), keyed as in recipe_settings."""
    if recipe.path is None:
        return set()
    raw = read_sections(recipe.path)
    own = {"data"} if raw.get("data") else set()
    for section in SETTING_SECTIONS:
        own |= {f"{section}.{key}" for key in raw.get(section, {})}
    return own


def recipe_diff(a: Recipe, b: Recipe) -> list[tuple[str, object, object]]:
    """The settings in which two recipes differ: (``section.field``, a's value, b's value), in field order."""
    sa, sb = recipe_settings(a), recipe_settings(b)
    return [(key, sa[key], sb[key]) for key in sa if sa[key] != sb[key]]
