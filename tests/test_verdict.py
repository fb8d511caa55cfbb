"""The verdict on a copying, a collapsed and a good generated set."""

import numpy as np

import virtualpatients as vp
from virtualpatients.data.simulate import simulate_cohort


def cohort(n: int, seed: int) -> vp.SequenceSet:
    ids, _, sequences = simulate_cohort(n_patients=n, length=120, n_hotspots=30, seed=seed)
    return vp.SequenceSet.from_strings(sequences, ids=ids)


def test_copies_and_collapse_are_called_poor_and_a_fresh_sample_is_not():
    real = cohort(400, 0)
    train, held = real.subset(np.arange(0, 400, 2)), real.subset(np.arange(1, 400, 2))
    one = train.subset(np.zeros(200, dtype=int))  # the same training sequence 200 times
    collapsed = vp.evaluate(one, train, held)["verdict"]
    assert collapsed["status"] == "poor"
    # Counted on samples of one size, so a small real set is not compared with a large generated one.
    assert any(reason.startswith("collapsed: 1 distinct in a sample of 200 generated against ")
               for reason in collapsed["reasons"])
    assert collapsed["caveats"]["fidelity.base_frequency_r"] == "not meaningful here: the generated set is collapsed (far less diverse than real)"
    # New patients of a hotspot cohort are mostly copies of earlier ones too; judged against
    # held-out real patients, a fresh sample of real patients is not called copying.
    fresh = vp.evaluate(held.subset(np.arange(100)), train, held.subset(np.arange(100, 200)))["verdict"]
    assert fresh == {"status": "no problem found", "reasons": [], "better_baselines": [], "caveats": {}}
    # All copies while held-out real patients are not: reported as copying.
    many = cohort(400, 3)
    copies = vp.evaluate(many.subset(np.arange(200)), many.subset(np.arange(200)), cohort(200, 4))["verdict"]
    assert any(reason.startswith("copies: 100%") for reason in copies["reasons"])
    assert copies["caveats"]["privacy.aats_train"] == "not meaningful here: 100% of generated are training sequences"


def test_figures_under_a_caveat_are_marked_in_the_terminal_table_and_the_html_rows():
    from rich.console import Console

    from virtualpatients.report.html import table_rows
    from virtualpatients.report.tables import CAVEAT_MARK, evaluation_table

    many = cohort(400, 3)
    summary = vp.evaluate(many.subset(np.arange(200)), many.subset(np.arange(200)), cohort(200, 4)).summary
    console = Console(width=100, record=True, file=open("/dev/null", "w"))
    console.print(evaluation_table(summary))
    text = console.export_text()
    aats_line = next(line for line in text.splitlines() if "AATS" in line)
    assert CAVEAT_MARK in aats_line and "not meaningful here: 100% of generated are" in text
    rows = {label: (generated, note) for _, label, generated, _, note in table_rows(summary)}
    assert rows["adversarial accuracy AATS"][0].endswith(CAVEAT_MARK)
    assert rows["adversarial accuracy AATS"][1].startswith("not meaningful here: 100%")
    assert not rows["exact copies of a real sequence"][0].endswith(CAVEAT_MARK)


def test_the_verdict_leads_the_summary_and_names_a_better_baseline():
    real = cohort(400, 0)
    train, held = real.subset(np.arange(0, 400, 2)), real.subset(np.arange(1, 400, 2))
    # A generator that mutates every sequence heavily: easy to tell apart, far from 0.5.
    noisy = train.indices.copy()
    noisy[:, ::3] = (noisy[:, ::3] + 1) % 4
    evaluation = vp.evaluate(vp.SequenceSet([f"g{i}" for i in range(200)], noisy), train, held, baselines=True)
    assert next(iter(evaluation.summary)) == "verdict"
    assert evaluation["verdict"]["better_baselines"][:1] != []
    assert any(reason.startswith("a baseline does better") for reason in evaluation["verdict"]["reasons"])


def test_the_label_check_tells_a_label_blind_model_from_a_faithful_one():
    from virtualpatients.data.simulate import simulate_two_classes

    ids, labels, sequences = simulate_two_classes(40, 120, length=80, block=(20, 30), seed=2)
    real = vp.SequenceSet.from_strings(sequences, labels=labels, ids=ids)
    faithful = real.subset(np.arange(0, 160, 2))
    check = vp.evaluate(faithful, real, None)["labels"]
    assert check["respected"] and min(check["accuracy_generated"].values()) == 1.0
    # Every `alpha` record generated with the majority's block: the classifier calls them beta.
    blind = vp.SequenceSet.from_strings([s[:20] + "G" * 10 + s[30:] for s in faithful.strings()],
                                        labels=faithful.labels)
    result = vp.evaluate(blind, real, None)
    assert not result["labels"]["respected"] and result["labels"]["accuracy_generated"]["alpha"] < 0.2
    assert any(reason.startswith("labels not respected") for reason in result["verdict"]["reasons"])


def test_without_held_out_patients_real_repeats_are_the_yardstick_for_copies():
    from virtualpatients.evaluation.verdict import verdict

    def judged(copy_rate, repeat_rate):
        return verdict({"privacy": {"exact_copy_rate": copy_rate, "holdout_exact_copy_rate": None,
                                    "real_repeat_rate": repeat_rate, "aats_train": 0.5}})

    # 20 identical wild types among 40 patients: half of real patients repeat another.
    flagged = judged(0.78, 0.5)
    assert flagged["reasons"][0].startswith("copies: 78% of generated are training sequences "
                                            "(real patients repeating another: 50%)")
    assert flagged["caveats"]["privacy.aats_train"] == "not meaningful here: 78% of generated are training sequences"
    assert judged(0.55, 0.5)["status"] == "no problem found"  # about as often as real patients repeat
    assert judged(0.3, 0.0)["status"] == "no problem found"  # most generated are new


def test_a_copying_gan_is_shown_the_baselines_that_neither_copy_nor_collapse():
    from virtualpatients.evaluation.verdict import verdict

    def scored(copy_rate, aats, collapsed=False):
        return {"privacy": {"exact_copy_rate": copy_rate, "holdout_exact_copy_rate": None, "real_repeat_rate": 0.5,
                            "aats_train": aats}, "diversity": {"mode_collapse": collapsed}}

    # The GAN's AATS is the nearest 0.5, but it copies: AATS then means nothing.
    summary = {**scored(0.78, 0.500), "baselines": {
        "independent": scored(0.45, 0.487), "markov": scored(0.45, 0.40, collapsed=True), "copy": scored(1.0, 0.39)}}
    judged = verdict(summary)
    assert judged["better_baselines"] == ["independent"]
    assert judged["reasons"][-1].startswith("a baseline does better: independent neither copies nor collapses")
    # A GAN without either flaw is compared by AATS alone.
    assert verdict({**scored(0.3, 0.500), "baselines": summary["baselines"]})["better_baselines"] == []
