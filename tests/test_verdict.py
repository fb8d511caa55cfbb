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
    assert copies["caveats"]["mmd.mmd2"] == "not meaningful here: 100% of generated are training sequences"
    assert copies["caveats"]["privacy.aa_truth"] == copies["caveats"]["privacy.aa_syn"] == copies["caveats"]["mmd.mmd2"]


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
    # Both halves, beside their mean, each marked as the mean is.
    halves_line = next(line for line in text.splitlines() if "AA_truth / AA_syn" in line)
    assert halves_line.count(CAVEAT_MARK) == 2
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
    assert judged["reasons"][-1].startswith("a baseline does better: independent does not copy, unlike the GAN")
    # A GAN without either flaw is compared by AATS alone.
    assert verdict({**scored(0.3, 0.500), "baselines": summary["baselines"]})["better_baselines"] == []


def independent_positions(train: vp.SequenceSet, n: int, seed: int) -> vp.SequenceSet:
    """A position weight matrix drawn by hand: each position from its own base frequencies."""
    rng = np.random.default_rng(seed)
    frequencies = np.stack([(train.indices == c).mean(axis=0) for c in range(4)], axis=1)
    cumulative = frequencies.cumsum(axis=1)
    draws = (rng.random((n, len(frequencies)))[:, :, None] > cumulative[None, :, :]).sum(axis=2)
    return vp.SequenceSet([f"pwm{i}" for i in range(n)], np.minimum(draws, 3).astype(np.uint8))


def test_structure_is_called_off_for_independent_positions_and_not_for_held_out_patients():
    # One hotspot variant a patient, as in the demo: independent positions give 0, 1, 2, ... variants.
    ids, _, sequences = simulate_cohort(n_patients=400, length=120, n_hotspots=12, seed=7)
    real = vp.SequenceSet.from_strings(sequences, ids=ids)
    train, held = real.subset(np.arange(0, 400, 2)), real.subset(np.arange(1, 400, 2))
    pwm = vp.evaluate(independent_positions(train, 200, 0), train)
    reasons = [reason for reason in pwm["verdict"]["reasons"] if reason.startswith("structure: ")]
    assert len(reasons) == 1, pwm["verdict"]
    tvd, linked = pwm["variants"]["differences_tvd"], pwm["linkage"]
    assert tvd > 0.5 and pwm["variants"]["differences_tvd_real"] == 0.0 and linked["r"] < 0.3 < linked["r_real"]
    assert pwm["variants"]["real_sample"] == {"source": "training", "n": 100, "against": 100}
    assert f"differences per sequence off by TV {tvd:.2f} from real (0 ideal; 100 real patients against the other 100 score 0.00)" in reasons[0]
    assert f"linkage r {linked['r']:.2f} between real and generated r^2 over {linked['pairs']} pairs" in reasons[0]
    # The held-out half of real patients, with and without a hold-out to compare it with.
    for holdout in (None, held.subset(np.arange(100))):
        fresh = vp.evaluate(held.subset(np.arange(100, 200)), train, holdout)
        assert fresh["verdict"]["status"] == "no problem found", fresh["verdict"]
    assert fresh["variants"]["real_sample"] == {"source": "held-out", "n": 100, "against": 200}


def test_structure_thresholds_sample_sizes_and_a_baseline_that_keeps_the_structure():
    from virtualpatients.evaluation.verdict import verdict

    def scored(tvd, tvd_real, r, r_real, n=200, pairs=66, aats=0.6):
        return {"n_generated": n, "privacy": {"exact_copy_rate": 0.0, "real_repeat_rate": 0.0, "aats_train": aats},
                "variants": {"differences_tvd": tvd, "differences_tvd_real": tvd_real, "generated_with_variants": 1.0,
                             "mean_differences_real": 1.0, "real_sample": {"source": "held-out", "n": n, "against": 400}},
                "linkage": {"r": r, "r_real": r_real, "pairs": pairs}}

    def reasons(summary):
        return verdict(summary)["reasons"]

    assert reasons(scored(0.58, 0.0, 0.15, 0.85)) == [
        "structure: differences per sequence off by TV 0.58 from real (0 ideal; 200 held-out real patients score "
        "0.00); linkage r 0.15 between real and generated r^2 over 66 pairs (1 ideal; 200 held-out real patients: 0.85)"]
    assert reasons(scored(0.45, 0.30, 0.9, 0.9)) == []  # TV as far as real records of that size drift
    assert reasons(scored(0.25, 0.0, 0.9, 0.9)) == []  # below the TV floor
    assert reasons(scored(0.0, 0.0, 0.25, 0.40)) == []  # real records link as weakly
    assert reasons(scored(0.0, 0.0, 0.15, 0.85, n=60)) == []  # r^2 on too few records
    assert reasons(scored(0.0, 0.0, 0.15, 0.85, pairs=3)) == []  # too few pairs
    assert reasons(scored(0.0, 0.0, None, None)) == []  # too few real variant positions: undefined
    assert reasons(scored(0.9, 0.0, 0.0, 0.9, n=10)) == []  # too few generated records
    # The GAN misses the structure, the PWM keeps it (AATS farther from 0.5 or not): it does better.
    summary = {**scored(0.58, 0.0, 0.15, 0.85, aats=0.5), "baselines": {
        "independent": scored(0.05, 0.0, 0.8, 0.85, aats=0.7), "markov": scored(0.6, 0.0, 0.1, 0.85, aats=0.5)}}
    judged = verdict(summary)
    assert judged["better_baselines"] == ["independent"]
    assert judged["reasons"][-1] == ("a baseline does better: independent keeps the real structure (differences per "
                                     "sequence, linkage), unlike the GAN (a GAN worth using should beat it)")
    # A baseline with a flaw the GAN lacks is not better, whatever its AATS.
    good = {**scored(0.05, 0.0, 0.8, 0.85, aats=0.6), "baselines": {"markov": scored(0.6, 0.0, 0.1, 0.85, aats=0.5)}}
    assert verdict(good) == {"status": "no problem found", "reasons": [], "better_baselines": [], "caveats": {}}
