"""Scenario files for Scripts/bench (docs/scenarios.md v1 plus our plant keys)."""
import json

RATES = [0.048, 0.5, 5.0, 24.0]

# Plants across the valid range (docs/scenarios.md): stroke 50-1000 nL, compliance 50-1000 nL/mmHg,
# time constant 1-60 s, baseline 0-25 mmHg, noise 0-1 mmHg.
PLANTS = {
    "default": {},
    "stiff fast (τ 1 s)": {"compliance_nl_per_mmhg": 50, "resistance_mmhg_s_per_nl": 0.02},
    "compliant slow noisy (τ 60 s)": {"compliance_nl_per_mmhg": 1000, "resistance_mmhg_s_per_nl": 0.06, "pressure_noise_mmhg": 1.0},
    "small stroke, high baseline": {"stroke_volume_nl": 100, "compliance_nl_per_mmhg": 400, "resistance_mmhg_s_per_nl": 0.05,
                                    "baseline_pressure_mmhg": 25, "pressure_noise_mmhg": 0.6},
}


def drug(rate):
    """A baclofen concentration that keeps the daily dose within the drug library at this rate."""
    concentration = 2000 if rate < 0.1 else 500 if rate < 1 else 50
    return concentration, round(rate * concentration, 3)


def scenario(name, rate, hours, plant=None, events=(), seed=1, fill_ml=None):
    concentration, dose = drug(rate)
    fill = fill_ml or max(20, min(250, rate * hours / 24 * 1.5 + 2))
    return {
        "name": name, "seed": seed, "duration": f"{hours}h",
        "drug": {"name": "baclofen", "concentration_ug_per_ml": concentration},
        "reservoir": {"capacity_ml": max(fill, 20), "fill_ml": fill},
        "prescription": {"mode": "continuous", "daily_dose_ug": dose},
        "plant": plant or {}, "events": list(events),
    }


def write(path, s):
    with open(path, "w") as f:
        json.dump(s, f, indent=1)
