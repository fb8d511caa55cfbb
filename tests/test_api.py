"""The Python API: the README's example runs, the imbalanced-learn sampler works in a Pipeline,
baselines are estimators, and the package's import graph has no cycle."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import virtualpatients as vp

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "virtualpatients"
SMALL = dict(steps=120, hidden=(32,), noise_dim=8, batch_size=16, device="cpu", log_every=20,
             output="gumbel", data_bias=True)


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_python_example_runs(two_class_cohort, tmp_path, monkeypatch):
    # The README's example, on a small cohort and a short config, exactly as printed otherwise.
    code = readme_example()
    code = code.replace('"cohort.fasta"', repr(str(two_class_cohort)))
    code = code.replace('vp.TrainConfig(steps=2000, kl_weight=0.05)', f"vp.TrainConfig(**{SMALL!r})")
    code = code.replace('label="functional"', 'label="rare"')
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    scores, run = namespace["scores"], namespace["run"]
    assert 0 <= scores["privacy"]["aats_train"] <= 1
    assert isinstance(run, vp.Run) and run.holdout_set is not None
    assert (tmp_path / "runs" / "a" / "run.json").exists()
    assert namespace["fake"].labels == ["rare"] * 1000


def test_train_in_memory_then_save_load_generates_the_same(two_class_cohort, tmp_path):
    cohort = vp.read_cohort(two_class_cohort, label_key="label")
    run = vp.train(cohort, vp.TrainConfig(**SMALL))
    assert run.path is None and run.classes == ["common", "rare"]
    before = run.generate(50, seed=3, label="rare")
    loaded = vp.load_run(run.save(tmp_path / "saved"))
    after = loaded.generate(50, seed=3, label="rare")
    assert np.array_equal(before.indices, after.indices) and after.labels == ["rare"] * 50
    assert b"".join(loaded.generate_fasta(5, seed=3)).count(b">") == 5


def strings_and_labels(path: Path) -> tuple[np.ndarray, np.ndarray]:
    cohort = vp.read_cohort(path, label_key="label")
    return np.asarray(cohort.strings()), np.asarray(cohort.labels)


def test_gan_oversampler_balances_and_runs_in_an_imblearn_pipeline(two_class_cohort):
    from imblearn.pipeline import make_pipeline
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.preprocessing import FunctionTransformer

    X, y = strings_and_labels(two_class_cohort)
    sampler = vp.GANOverSampler(vp.TrainConfig(**SMALL), random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert (y_res == "rare").sum() == (y_res == "common").sum() == 60
    assert X_res.dtype.kind == "U" and len(X_res[-1]) == len(X[0])
    assert list(X_res[: len(X)]) == list(X)  # the real rows first, unchanged

    # Generated rows come back in the input's form: one-hot in, one-hot out.
    one_hot = vp.SequenceSet.from_strings(list(X)).indices
    X_hot = np.eye(4, dtype=np.float32)[one_hot].reshape(len(X), -1)
    X_hot_res, _ = vp.GANOverSampler(vp.TrainConfig(**SMALL), sampling_strategy={"rare": 30}).fit_resample(X_hot, y)
    assert X_hot_res.shape == (len(X) + 10, X_hot.shape[1]) and set(np.unique(X_hot_res)) <= {0.0, 1.0}

    def featurise(strings):
        return np.eye(4, dtype=np.float32)[vp.SequenceSet.from_strings(list(strings)).indices].reshape(len(strings), -1)

    pipeline = make_pipeline(vp.GANOverSampler(vp.TrainConfig(**SMALL), random_state=0),
                             FunctionTransformer(featurise), LogisticRegression(max_iter=500))
    scores = cross_val_score(pipeline, X, y, cv=3, scoring="balanced_accuracy")
    assert scores.mean() > 0.9  # the classes differ at six known positions


def test_baselines_are_estimators(two_class_cohort):
    cohort = vp.read_cohort(two_class_cohort, label_key="label")
    drawn = vp.baselines.Markov(order=3).fit(cohort).sample(500, seed=1)
    assert len(drawn) == 500 and drawn.length == cohort.length
    assert drawn.labels.count("rare") == 125  # the training proportions, 20 of 80
    again = vp.baselines.make("markov", 3).fit(cohort).sample(500, seed=1)
    assert np.array_equal(drawn.indices, again.indices)
    copies = vp.baselines.Copy().fit(cohort).sample(50, seed=0, label="rare")
    real_rare = {tuple(row) for row in cohort.of_class("rare").indices}
    assert all(tuple(row) in real_rare for row in copies.indices)
    with pytest.raises(vp.InputError, match="unknown baseline"):
        vp.baselines.make("gan")


def test_library_errors_are_typed_and_name_values_not_flags(two_class_cohort):
    run = vp.train(vp.read_cohort(two_class_cohort, label_key="label"), vp.TrainConfig(**{**SMALL, "steps": 2}))
    with pytest.raises(vp.InputError, match="unknown label 'nope'") as error:
        run.generate(3, label="nope")
    assert "--" not in str(error.value)
    with pytest.raises(vp.InputError, match="n = -1") as error:
        run.generate(-1)
    assert "--" not in str(error.value)


def package_modules() -> list[str]:
    return sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in PACKAGE.rglob("*.py")
    )


IMPORT_EACH_ALONE = """
import importlib, sys
failed = []
for name in sys.argv[1:]:
    # Forget every package module (third-party ones stay loaded, for speed), so each module is
    # imported with nothing of the package imported before it.
    for loaded in [m for m in sys.modules if m == "virtualpatients" or m.startswith("virtualpatients.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as error:
        failed.append(f"{name}: {type(error).__name__}: {error}")
print("\\n".join(failed))
"""


def test_every_module_imports_alone():
    modules = [m for m in package_modules() if not m.endswith("__main__")]
    done = subprocess.run([sys.executable, "-c", IMPORT_EACH_ALONE, *modules], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "", done.stdout + done.stderr[-2000:]


def imports_of(module: str) -> set[str]:
    """Package modules `module` imports (at any depth in the file), resolved to dotted names."""
    path = PACKAGE.parent / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = PACKAGE.parent / module.replace(".", "/") / "__init__.py"
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    tree = ast.parse(path.read_text())
    # Imports for type checkers only (under `if TYPE_CHECKING:`) never run, so they make no cycle.
    type_only = {id(child) for node in ast.walk(tree) if isinstance(node, ast.If)
                 and getattr(node.test, "id", None) == "TYPE_CHECKING" for child in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in MODULES else base)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name in MODULES and name != module}


MODULES = set(package_modules())
LAYERS = ["errors", "atomic", "data", "gan", "evaluation", "report", "cli"]


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else -1


def test_imports_go_one_way_and_have_no_cycle():
    graph = {module: imports_of(module) for module in MODULES}
    # Subpackages follow the data flow: data -> gan -> evaluation -> report -> cli, never back.
    backwards = [(m, d) for m, deps in graph.items() for d in deps
                 if layer(m) >= 0 and layer(d) >= 0 and layer(d) > layer(m)]
    assert backwards == []
    # No cycle between modules (the package's __init__ is a lazy index, left out).
    graph = {m: {d for d in deps if d != "virtualpatients"} for m, deps in graph.items() if m != "virtualpatients"}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in graph.get(node, ()):
            if state.get(dep) == 1:
                raise AssertionError(f"import cycle: {' -> '.join(path + [node, dep])}")
            if dep not in state:
                visit(dep, path + [node])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def test_the_public_names_resolve():
    for name in vp.__all__:
        assert getattr(vp, name) is not None
    with pytest.raises(AttributeError):
        vp.not_a_name  # noqa: B018


def test_positions_that_never_vary_are_not_modelled_and_come_back_in_generation(two_class_cohort, tmp_path):
    cohort = vp.read_cohort(two_class_cohort, label_key="label")
    varying = (cohort.indices != cohort.indices[0]).any(axis=0)
    run = vp.train(cohort, vp.TrainConfig(**SMALL), run_dir=tmp_path / "run")
    assert run.spec.length == varying.sum() < cohort.length and run.length == cohort.length
    generated = vp.load_run(tmp_path / "run").generate(300, seed=0)
    assert generated.length == cohort.length
    assert (generated.indices[:, ~varying] == cohort.indices[0, ~varying]).all()
    everything = vp.train(cohort, vp.TrainConfig(**SMALL, varying_only=False))
    assert everything.spec.length == cohort.length and "columns" not in everything.metadata


def test_a_run_whose_modelled_positions_do_not_fit_is_refused(two_class_cohort, tmp_path):
    import json

    vp.train(vp.read_cohort(two_class_cohort, label_key="label"), vp.TrainConfig(**SMALL), run_dir=tmp_path / "run")
    path = tmp_path / "run" / "run.json"
    record = json.loads(path.read_text())
    record["columns"]["positions"] = record["columns"]["positions"][:-1]
    path.write_text(json.dumps(record))
    with pytest.raises(vp.InputError, match="modelled positions do not fit"):
        vp.load_run(tmp_path / "run")
