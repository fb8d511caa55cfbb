import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from virtualpatients.report.plots import figures  # noqa: E402


def drawn(arrays):
    return {name: fig for name, _, fig in figures(plt, {}, arrays, [])}


def test_baselines_are_overlaid_on_identity_dcr_and_variant_plots():
    rng = np.random.default_rng(0)
    arrays = {
        "nearest_identity_generated": rng.random(20), "nearest_identity_real": rng.random(20),
        "dcr_generated": rng.integers(0, 5, 20), "dcr_holdout": rng.integers(0, 5, 20),
        "variant_freq_generated": rng.random(30), "variant_freq_real": rng.random(30),
    }
    for kind in ("independent", "copy"):
        for key in ("nearest_identity_generated", "dcr_generated", "variant_freq_generated"):
            arrays[f"baseline.{kind}.{key}"] = arrays[key] * 0.5
    plots = drawn(arrays)
    labels = [text.get_text() for text in plots["nearest_identity.png"].axes[0].get_legend().get_texts()]
    assert any("baseline independent" in label for label in labels) and any("baseline copy" in label for label in labels)
    dcr_labels = [text.get_text() for text in plots["dcr.png"].axes[0].get_legend().get_texts()]
    assert len(dcr_labels) == 4
    assert len(plots["variants.png"].axes) == 4  # real, generated, two baselines
    plt.close("all")
    without = drawn({key: value for key, value in arrays.items() if not key.startswith("baseline.")})
    assert len(without["variants.png"].axes) == 2
    plt.close("all")


def test_base_frequency_title_shows_r_only_when_the_summary_has_a_number():
    rng = np.random.default_rng(0)
    arrays = {"base_freq_real": rng.random((10, 4)), "base_freq_generated": rng.random((10, 4))}

    def title(summary):
        fig = {name: fig for name, _, fig in figures(plt, summary, arrays, [])}["base_frequencies.png"]
        text = fig.axes[0].get_title()
        plt.close("all")
        return text

    assert title({"fidelity": {"base_frequency_r": 0.98765}}).endswith("Pearson r = 0.9877")
    for summary in ({}, {"fidelity": None}, {"fidelity": {"base_frequency_r": None}},
                    {"fidelity": {"base_frequency_r": float("nan")}}):
        assert "Pearson" not in title(summary)


def test_captions_describe_this_run():
    from virtualpatients.report.plots import _discriminator_caption

    history = [{"step": 1, "d_real": 0.9, "d_fake": 0.1}, {"step": 2, "d_real": 0.52, "d_fake": 0.49}]
    good = _discriminator_caption({"verdict": {"reasons": []}}, history)
    assert "D(real) = 0.52 and D(fake) = 0.49" in good and "cannot tell them apart" in good
    collapsed = _discriminator_caption({"verdict": {"reasons": ["collapsed: 1 distinct of 100"]}}, history)
    assert "do not mean success" in collapsed and "cannot tell" not in collapsed


def test_base_frequency_caption_says_when_invariant_positions_make_r_near_one():
    from virtualpatients.report.plots import _base_frequency_caption

    # 100 positions x 4 bases: 95 positions every real sequence agrees on, 5 that vary.
    real = np.zeros((100, 4))
    real[:, 0] = 1.0
    real[:5] = [0.5, 0.3, 0.2, 0.0]
    consensus = np.zeros((100, 4))
    consensus[:, 0] = 1.0  # a generator that prints the consensus everywhere
    caption = _base_frequency_caption({"base_freq_real": real, "base_freq_generated": consensus})
    assert "96% of the 400 points sit at 0 or 1" in caption  # the 5 absent bases of varying positions too
    assert "over the 15 varying points alone, r = " in caption
    varied = np.random.default_rng(0).dirichlet(np.ones(4), size=100)  # every position varies
    plain = _base_frequency_caption({"base_freq_real": varied, "base_freq_generated": varied})
    assert plain == "Per-position base frequencies, generated against real."
