"""A verdict that leads the summary: the conditions under which the other numbers mislead.

A 99.9% identity, a base-frequency r of 1 and an AATS near 0.5 all read as success for a
generator that copies its training set or prints one sequence; the verdict says so first."""

from __future__ import annotations

from typing import Any

COPY_RATE = 0.9  # generated that are training sequences, above which the set is called copies
COPY_MARGIN = 0.1  # ... and above held-out real patients' own copy rate by at least this


def verdict(summary: dict[str, Any]) -> dict[str, Any]:
    """{"status": "poor" | "no problem found", "reasons": [...], "better_baselines": [...]}."""
    reasons: list[str] = []
    privacy, diversity, variants = summary.get("privacy") or {}, summary.get("diversity") or {}, summary.get("variants") or {}
    copy_rate, held_rate = privacy.get("exact_copy_rate"), privacy.get("holdout_exact_copy_rate")
    if copy_rate is not None and copy_rate >= COPY_RATE and (held_rate is None or copy_rate > held_rate + COPY_MARGIN):
        reasons.append(f"copies: {copy_rate:.0%} of generated are training sequences"
                       + (" (no held-out real patients to compare: with recurrent variants, new patients "
                          "may be copies too)" if held_rate is None else f" (held-out real patients: {held_rate:.0%})")
                       + "; identity, frequencies and AATS near 0.5 then say nothing about new patients")
    if diversity.get("mode_collapse"):
        reasons.append(f"collapsed: {summary.get('distinct')} distinct of {summary.get('n_generated')} generated "
                       f"(real: {summary.get('real_distinct')} distinct of {summary.get('n_real')})")
    if variants.get("generated_with_variants") == 0 and (variants.get("mean_differences_real") or 0) > 0:
        reasons.append(f"no variants: every generated sequence is the {variants.get('reference', 'reference')}, "
                       "while real ones differ from it")
    labels = summary.get("labels") or {}
    if labels.get("respected") is False:
        reasons.append(f"labels not respected: {labels.get('reason')}")
    better = _better_baselines(summary)
    if better:
        reasons.append(f"a baseline does better: {better[0]} has an AATS nearer 0.5 (a GAN worth using should beat it)")
    return {"status": "poor" if reasons else "no problem found", "reasons": reasons, "better_baselines": better}


def _better_baselines(summary: dict[str, Any]) -> list[str]:
    """Baselines (scored beside the GAN) whose AATS against training is nearer 0.5, closest first."""
    own = (summary.get("privacy") or {}).get("aats_train")
    if own is None:
        return []
    scored = [(abs(s["privacy"]["aats_train"] - 0.5), name) for name, s in (summary.get("baselines") or {}).items()
              if name != "copy" and (s.get("privacy") or {}).get("aats_train") is not None]
    return [name for distance, name in sorted(scored) if distance < abs(own - 0.5) - 0.01]
