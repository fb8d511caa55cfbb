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
    if variants.get("generated_with_variants") == 0 and (variants.get("mean_differences_real") or 0) > 0:
        reasons.append(f"no variants: every generated sequence is the {variants.get('reference', 'reference')}, "
                       "while real ones differ from it")
    mia_auc = privacy.get("mia_auc")
    if mia_auc is not None and mia_auc >= MIA_LEAK_AUC and (privacy.get("mia_n") or 0) >= MIA_MIN_N:
        reasons.append("membership leaks: a distance attack tells training records from held-out ones "
                       f"(AUC {mia_auc:.2f}, 0.5 is chance)")
    labels = summary.get("labels") or {}
    if labels.get("respected") is False:
        reasons.append(f"labels not respected: {labels.get('reason')}")
    better = _better_baselines(summary)
    if better:
        why = "neither copies nor collapses" if _flawed(summary) else "has an AATS nearer 0.5"
        reasons.append(f"a baseline does better: {better[0]} {why} (a GAN worth using should beat it)")
    return {"status": "poor" if reasons else "no problem found", "reasons": reasons, "better_baselines": better,
            "caveats": caveats(summary)}


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
        mark(IDENTITY_LIKE + ("privacy.aats_train", "variants.position_r"),
             f"{copying[0]:.0%} of generated are training sequences")
    if diversity.get("mode_collapse"):
        mark(IDENTITY_LIKE, "the generated set is collapsed (far less diverse than real)")
    if variants.get("generated_with_variants") == 0 and (variants.get("mean_differences_real") or 0) > 0:
        mark(IDENTITY_LIKE, "every generated sequence is the reference")
    return notes


def _better_baselines(summary: dict[str, Any]) -> list[str]:
    """Baselines (scored beside the GAN) that do better, closest to AATS 0.5 first: those whose
    AATS against training is nearer 0.5, or, when the GAN copies or is collapsed (its AATS then
    means nothing), every baseline that does neither."""
    own = (summary.get("privacy") or {}).get("aats_train")
    if own is None:
        return []
    scored = [(abs(s["privacy"]["aats_train"] - 0.5), name, _flawed(s)) for name, s in (summary.get("baselines") or {}).items()
              if name != "copy" and (s.get("privacy") or {}).get("aats_train") is not None]
    if _flawed(summary):
        return [name for _, name, bad in sorted(scored) if not bad]
    return [name for distance, name, _ in sorted(scored) if distance < abs(own - 0.5) - 0.01]


def _flawed(summary: dict[str, Any]) -> bool:
    return _copying(summary.get("privacy") or {}) is not None or bool((summary.get("diversity") or {}).get("mode_collapse"))
