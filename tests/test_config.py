import tomllib
from pathlib import Path

import pytest

from virtualpatients.gan.config import TrainConfig, config_from_dict, resolve_config
from virtualpatients.errors import InputError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_default_toml_matches_the_dataclass_defaults():
    assert resolve_config(CONFIGS / "default.toml") == TrainConfig()
    keys = set(tomllib.loads((CONFIGS / "default.toml").read_text())["train"])
    assert keys == set(TrainConfig().to_dict())


def test_flags_override_the_file_which_overrides_defaults(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[train]\nsteps = 7\nlr = 0.01\nhidden = [8, 4]\n")
    config = resolve_config(path, {"steps": 9, "lr": None, "hidden": "16,2"})
    assert (config.steps, config.lr, config.hidden, config.batch_size) == (9, 0.01, (16, 2), 64)


@pytest.mark.parametrize(
    "text, message",
    [
        ("[train]\nstepz = 3\n", "unknown config keys: stepz"),
        ("[train]\nsteps = 'many'\n", "steps = 'many' is not a valid int"),
        ("[train]\nsteps = 0\n", "steps must be at least 1"),
        ("[train]\ndevice = 'tpu'\n", "device must be one of"),
        ("not toml = = \n", "not a valid TOML config"),
    ],
)
def test_bad_config_is_refused(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        resolve_config(path)


def test_saved_config_round_trips_strictly():
    config = TrainConfig(steps=5, hidden=(3,))
    assert config_from_dict(config.to_dict()) == config
    with pytest.raises(InputError, match="unknown keys"):
        config_from_dict({**config.to_dict(), "extra": 1})
    older = {k: v for k, v in config.to_dict().items() if k != "holdout"}
    assert config_from_dict(older) == config


@pytest.mark.parametrize("recipe", sorted(p.name for p in CONFIGS.glob("*.toml")))
def test_every_recipe_resolves(recipe):
    assert isinstance(resolve_config(CONFIGS / recipe), TrainConfig)
