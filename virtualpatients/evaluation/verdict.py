"""A verdict that leads the summary: the conditions under which the other numbers mislead.

A 99.9% identity, a base-frequency r of 1 and an AATS near 0.5 all read as success for a
generator that copies its training set or prints one sequence; the verdict says so first."""

from __future__ import annotations

from typing import Any

from ..data.distances import diversity_contrast

COPY_RATE = 0.5  # generated that are training sequences, above which the set may be called copies
COPY_MARGIN = 0.1  # ... when above real patients' own rate (held-out ones, or one another) by this
# Membership-inference AUC from which the attack is called a leak: 0.5 is chance; 0.75 means a
# training record out-scores a held-out one in three pairs of four. On fewer than MIA_MIN_N records
# per side chance alone reaches it too often (sd of the AUC about 0.13 at 10 each, 0.09 at 20).
MIA_LEAK_AUC = 0.75
MIA_MIN_N = 20
# Structure: the distribution of differences per sequence and the linkage between variant
# positions, each against the same figure of real records scored as the generated set is
# (population.real_sample: as many held-out records, or a sample of the real set), since both
# figures drift with sample size even for real patients. Thresholds from held-out halves and
# samples of real records and from position weight matrices (README, `structure`).
TVD_MIN = 0.3  # differences-per-sequence TV from which a set can be off (0 ideal; a PWM 0.35 and up)
TVD_MARGIN = 0.2  # ... when above the real records' own TV by this much (real: at most 0.09 above)
LINKAGE_R_MAX = 0.3  # linkage r below which a set can be off (real samples of 100: 0.46 and up; PWM 0.26 at most)
LINKAGE_MARGIN = 0.3  # ... when below the real records' own r by this much
STRUCTURE_MIN_N = 20  # generated records below which neither figure is judged
LINKAGE_MIN_N = 100  # r^2 of 1% variants on fewer records is too noisy (real r down to 0.25 at 50)
LINKAGE_MIN_PAIRS = 10  # pairs of variant positions below which r says little


def _copying(privacy: dict[str, Any]) -> tuple[float, float, str] | None:
    """(copy rate, the real yardstick, its name) when the generated set copies more than new real
    patients would, else None."""
    copy_rate, held_rate = privacy.get("exact_copy_rate"), privacy.get("holdout_exact_copy_rate")
    yardstick, name = (held_rate, "held-out real patients") if held_rate is not None else (
        privacy.get("real_repeat_rate"), "real patients repeating another")
    if copy_rate is None or copy_rate < COPY_RATE or (yardstick is not None and copy_rate <= yardstick + COPY_MARGIN):
        return None
    return copy_rate, yardstick, name


def verdict(summary: dict[str, Any]) -> dict[str, Any]:
    """{"status": "poor" | "no problem found", "reasons": [...], "better_baselines": [...]}."""
    reasons: list[str] = []
    privacy, diversity, variants = summary.get("privacy") or {}, summary.get("diversity") or {}, summary.get("variants") or {}
    if copying := _copying(privacy):
        copy_rate, yardstick, name = copying
        reasons.append(f"copies: {copy_rate:.0%} of generated are training sequences"
                       + (f" ({name}: {yardstick:.0%})" if yardstick is not None else "")
                       + "; identity, frequencies and AATS near 0.5 then say nothing about new patients")
    if diversity.get("mode_collapse"):
        # Distinct counts fall with sample size: the two sets are compared on samples of one size.
        reasons.append(f"collapsed: {diversity_contrast(diversity)} (less than half the real diversity)")
    if _no_variants(variants):
        reasons.append(f"no variants: every generated sequence is the {variants.get('reference', 'reference')}, "
                       "while real ones differ from it")
    mia_auc = privacy.get("mia_auc")
    if mia_auc is not None and mia_auc >= MIA_LEAK_AUC and (privacy.get("mia_n") or 0) >= MIA_MIN_N:
        reasons.append("membership leaks: a distance attack tells training records from held-out ones "
                       f"(AUC {mia_auc:.2f}, 0.5 is chance)")
    if structure := _structure(summary):
        reasons.append("structure: " + "; ".join(structure))
    labels = summary.get("labels") or {}
    if labels.get("respected") is False:
        reasons.append(f"labels not respected: {labels.get('reason')}")
    better = _better_baselines(summary)
    if better:
        reasons.append(f"a baseline does better: {better[0][0]} {better[0][1]} (a GAN worth using should beat it)")
    return {"status": "poor" if reasons else "no problem found", "reasons": reasons,
            "better_baselines": [name for name, _ in better], "caveats": caveats(summary)}


# Figures that read as success whatever the generator does once its output is copies, a handful
# of sequences, or the reference itself: each is shown with the condition beside it.
IDENTITY_LIKE = ("nearest_identity.mean", "nearest_identity.median", "fidelity.base_frequency_r",
                 "blast.mean_identity", "blast.median_identity", "validity.valid_fraction_generated")


def caveats(summary: dict[str, Any]) -> dict[str, str]:
    """{key path of a generated figure: why it is not meaningful for this set}; the first
    condition that applies to a figure names it."""
    privacy, diversity, variants = summary.get("privacy") or {}, summary.get("diversity") or {}, summary.get("variants") or {}
    notes: dict[str, str] = {}

    def mark(paths: tuple[str, ...], why: str) -> None:
        for path in paths:
            notes.setdefault(path, f"not meaningful here: {why}")

    if copying := _copying(privacy):
        mark(IDENTITY_LIKE + ("privacy.aats_train", "privacy.aa_truth", "privacy.aa_syn", "variants.position_r",
                              "mmd.mmd2"),
             f"{copying[0]:.0%} of generated are training sequences")
    if diversity.get("mode_collapse"):
        mark(IDENTITY_LIKE, "the generated set is collapsed (far less diverse than real)")
    if _no_variants(variants):
        mark(IDENTITY_LIKE, "every generated sequence is the reference")
    return notes


def _no_variants(variants: dict[str, Any]) -> bool:
    return variants.get("generated_with_variants") == 0 and (variants.get("mean_differences_real") or 0) > 0


def _structure(summary: dict[str, Any]) -> list[str]:
    """Where the generated set's structure is off: its differences per sequence, its linkage,
    each said with the real records' own figure (empty when neither is, or cannot be judged)."""
    variants, linked = summary.get("variants") or {}, summary.get("linkage") or {}
    n_generated = summary.get("n_generated") or 0
    if n_generated < STRUCTURE_MIN_N or _no_variants(variants):  # no variants: said on its own
        return []
    about = variants.get("real_sample") or {}
    who = (f"{about.get('n')} held-out real patients" if about.get("source") == "held-out"
           else f"{about.get('n')} real patients against the other {about.get('against')}")
    found = []
    tvd, tvd_real = variants.get("differences_tvd"), variants.get("differences_tvd_real")
    if tvd is not None and tvd_real is not None and tvd >= TVD_MIN and tvd >= tvd_real + TVD_MARGIN:
        found.append(f"differences per sequence off by TV {tvd:.2f} from real (0 ideal; {who} score {tvd_real:.2f})")
    r, r_real, pairs = linked.get("r"), linked.get("r_real"), linked.get("pairs") or 0
    if (r is not None and r_real is not None and n_generated >= LINKAGE_MIN_N and pairs >= LINKAGE_MIN_PAIRS
            and r < LINKAGE_R_MAX and r <= r_real - LINKAGE_MARGIN):
        found.append(f"linkage r {r:.2f} between real and generated r^2 over {pairs} pairs (1 ideal; {who}: {r_real:.2f})")
    return found


# What makes a set poor whatever its AATS, in the words that say a baseline avoids it.
FLAWS = {"copies": "does not copy", "collapsed": "is not collapsed",
         "structure": "keeps the real structure (differences per sequence, linkage)"}


def _flaws(summary: dict[str, Any]) -> frozenset[str]:
    found = {"copies": _copying(summary.get("privacy") or {}) is not None,
             "collapsed": bool((summary.get("diversity") or {}).get("mode_collapse")),
             "structure": bool(_structure(summary))}
    return frozenset(name for name, present in found.items() if present)


def _better_baselines(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, why) of the baselines (scored beside the GAN) that do better, closest to AATS 0.5
    first: those with only some of the GAN's flaws (FLAWS), or with the same ones and an AATS
    against training nearer 0.5, unless the GAN copies or is collapsed (its AATS then means
    nothing). A baseline with a flaw the GAN lacks is never better."""
    own = (summary.get("privacy") or {}).get("aats_train")
    if own is None:
        return []
    flaws = _flaws(summary)
    better = []
    for name, scored in (summary.get("baselines") or {}).items():
        aats, its_flaws = (scored.get("privacy") or {}).get("aats_train"), _flaws(scored)
        if name == "copy" or aats is None or not its_flaws <= flaws:
            continue
        if avoided := flaws - its_flaws:
            words = " and ".join(FLAWS[flaw] for flaw in FLAWS if flaw in avoided)
            better.append((abs(aats - 0.5), name, f"{words}, unlike the GAN"))
        elif not flaws & {"copies", "collapsed"} and abs(aats - 0.5) < abs(own - 0.5) - 0.01:
            better.append((abs(aats - 0.5), name, "has an AATS nearer 0.5"))
    return [(name, why) for _, name, why in sorted(better)]
