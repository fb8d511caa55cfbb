import tomllib
from pathlib import Path

import pytest

from virtualpatients.gan.config import TrainConfig, config_from_dict, resolve_config
from virtualpatients.errors import InputError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_default_toml_matches_the_dataclass_defaults():
    from virtualpatients.gan.config import default_toml

    assert resolve_config(CONFIGS / "default.toml") == TrainConfig()
    # Written from the dataclass (defaults and docstrings); after a field changes, regenerate it with
    # p = Path("configs/default.toml"); p.write_text(default_toml(p.read_text().split("[train]")[0]))
    text = (CONFIGS / "default.toml").read_text()
    assert text == default_toml(text.split("[train]")[0])
    keys = set(tomllib.loads((CONFIGS / "default.toml").read_text())["train"])
    assert keys == set(TrainConfig().to_dict())


def test_flags_override_the_file_which_overrides_defaults(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[train]\nsteps = 7\nlr = 0.01\nhidden = [8, 4]\n")
    config = resolve_config(path, {"steps": 9, "lr": None, "hidden": "16,2"})
    assert (config.steps, config.lr, config.hidden, config.batch_size) == (9, 0.01, (16, 2), TrainConfig().batch_size)


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


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(loss="wgan"), "loss must be one of gan, wgan-gp"),
        (dict(output="gumbell"), "output must be one of softmax, gumbel, hard"),
        (dict(beta1=2.0), "beta1 and beta2 must be at least 0 and below 1"),
        (dict(lr=float("nan")), "lr must be positive and finite"),
        (dict(steps="ten"), "steps = 'ten' is not a valid int"),
        (dict(seed=99999999999999999999), "seed must be between 0 and 2\\^63 - 1"),
    ],
)
def test_a_config_validates_itself_when_built(settings, message):
    # Built from Python, not only from TOML or flags: a misspelt value never trains something else.
    with pytest.raises(InputError, match=message):
        TrainConfig(**settings)


def test_every_field_has_a_docstring_that_becomes_its_flag_help():
    from virtualpatients.gan.config import field_docs

    docs = field_docs()
    assert set(docs) == set(TrainConfig().to_dict())
    assert all(len(text) > 10 for text in docs.values())


def test_a_config_saved_before_the_new_settings_keeps_the_old_behaviour():
    from virtualpatients.gan.config import SAVED_BEFORE

    saved = {k: v for k, v in TrainConfig().to_dict().items() if k not in SAVED_BEFORE}
    old = config_from_dict(saved)
    assert (old.class_bias, old.varying_only, old.selection, old.novel_bases) == (False, False, "mean", 1e9)
    assert config_from_dict(TrainConfig().to_dict()) == TrainConfig()  # today's runs keep today's values
