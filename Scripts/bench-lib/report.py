"""Turns the runs of Scripts/bench into bench.json, a Markdown table and the plots.

Every figure comes from the simulator's own output (`pumpctl simulate --trace` CSVs and
reports), pumpd's shutdown lines, and pump-bench's JSON.
"""
import csv
import json
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from scenarios import RATES, PLANTS  # noqa: E402

WINDOWS_MIN = [2, 5, 11, 19, 31]


def read_trace(path):
    rows = []
    with open(path) as f:
        for r in csv.DictReader(f):
            rows.append((float(r["t_s"]), float(r["pressure_mmhg"]) if r["pressure_mmhg"] else None,
                         int(r["plant_strokes"]), float(r["delivered_ul"]), r["state"]))
    return rows


def trumpet(rows, rate_ml_day, start_s, end_s, sample_s=30.0):
    """IEC 60601-2-24 style: balance readings every 30 s over the analysis period; for each
    observation window P, the max and min percentage error of windows sliding by 30 s, and the
    cumulative error over the whole period."""
    samples = [(t, v) for (t, _, _, v, _) in rows if start_s - 1e-6 <= t <= end_s + 1e-6]
    ul_per_s = rate_ml_day * 1000 / 86400
    total_t = samples[-1][0] - samples[0][0]
    cumulative = ((samples[-1][1] - samples[0][1]) / (ul_per_s * total_t) - 1) * 100
    curve = {}
    for p in WINDOWS_MIN:
        n = int(round(p * 60 / sample_s))
        errs = []
        for i in range(len(samples) - n):
            dv = samples[i + n][1] - samples[i][1]
            dt = samples[i + n][0] - samples[i][0]
            errs.append((dv / (ul_per_s * dt) - 1) * 100)
        curve[p] = (max(errs), min(errs))
    return cumulative, curve


def main(work, out_json, plots):
    os.makedirs(plots, exist_ok=True)
    res = json.load(open(os.path.join(work, "pump-bench.json")))
    table = []

    # Accuracy.
    fig, axes = plt.subplots(1, len(RATES), figsize=(4 * len(RATES), 3.6), sharey=False)
    res["accuracy"] = {}
    for ax, rate in zip(axes, RATES):
        rows = read_trace(os.path.join(work, f"accuracy-{rate}.csv"))
        cum, curve = trumpet(rows, rate, 3600, 3 * 3600)
        res["accuracy"][str(rate)] = {"cumulative_error_percent": cum,
                                      "trumpet": {str(p): {"max_percent": hi, "min_percent": lo} for p, (hi, lo) in curve.items()}}
        table.append((f"accuracy {rate} mL/day: cumulative error (2nd and 3rd hour)", f"{cum:+.2f} %"))
        table.append((f"accuracy {rate} mL/day: trumpet 2 / 31 min window max..min",
                      f"{curve[2][0]:+.1f}..{curve[2][1]:+.1f} % / {curve[31][0]:+.1f}..{curve[31][1]:+.1f} %"))
        xs = WINDOWS_MIN
        ax.plot(xs, [curve[p][0] for p in xs], "o-", label="max")
        ax.plot(xs, [curve[p][1] for p in xs], "o-", label="min")
        ax.axhline(cum, color="grey", ls="--", label=f"cumulative {cum:+.2f} %")
        ax.set_title(f"{rate} mL/day")
        ax.set_xlabel("observation window (min)")
        ax.set_ylabel("flow error (%)")
        ax.legend(fontsize=7)
    fig.suptitle("Trumpet curves (simulated balance, 3 % stroke noise, readings every 30 s, hours 1-3)")
    fig.tight_layout()
    fig.savefig(os.path.join(plots, "trumpet.png"), dpi=110)
    plt.close(fig)

    # Occlusion grid.
    res["occlusion"] = []
    for plant in PLANTS:
        for rate in RATES:
            r = json.load(open(os.path.join(work, f"occlusion-{slug(plant)}-{rate}.json")))
            f = r["faults"][0]
            onset = f["at_s"]
            b = r["baseline"]
            stroke_ul = r["stroke_volume_ul"]
            ours_s, ours_n = f["latency_s"], f["strokes_since_fault"]
            base_s = (b["alarm_at_s"] - onset) if b["alarm_at_s"] is not None else None
            base_n = b["strokes_since_fault"]
            res["occlusion"].append({
                "plant": plant, "rate_ml_per_day": rate,
                "ours_min": ours_s / 60 if ours_s is not None else None, "ours_strokes": ours_n,
                "ours_ul": ours_n * stroke_ul if ours_n is not None else None,
                "fixed_min": base_s / 60 if base_s is not None else None, "fixed_strokes": base_n,
                "fixed_ul": base_n * stroke_ul if base_n is not None else None,
                "ratio_time": base_s / ours_s if base_s and ours_s else None,
                "ratio_volume": base_n / max(ours_n, 1) if base_n is not None and ours_n is not None else None,
            })
    # False alarms.
    res["false_alarms"] = {}
    for plant in ["default", "compliant slow noisy (τ 60 s)"]:
        r = json.load(open(os.path.join(work, f"year-{slug(plant)}.json")))
        ours = sum(1 for a in r["alarms"] if a["type"] == "occlusion")
        res["false_alarms"][plant] = {"days": r["duration_s"] / 86400, "ours": ours, "fixed": r["baseline"]["alarm_count"],
                                      "delivered_ul": r["delivered_ul"], "all_alarms": len(r["alarms"])}
        table.append((f"false occlusion alarms, 365 days, coughs 24/day, {plant}: ours / fixed +100 mmHg",
                      f"{ours} / {r['baseline']['alarm_count']}"))

    # Plots: an occlusion, a normal day.
    plot_occlusion(work, plots)
    plot_day(work, plots)

    # Speed and footprint.
    table.append(("simulator, 30 days at 0.5 mL/day with coughs (median of 3)", f"{res['simulated_days_per_second']:.1f} simulated days per second"))
    table.append(("fault swarm, one core (median of 3)", f"{res['swarm_seeds_per_second']:.1f} seeds per second"))
    d = json.load(open(os.path.join(work, "daemon.json")))
    res["daemon"] = d
    table.append((f"pumpd, simulated board, {d['rate_ml_per_day']} mL/day, {d['seconds']:.0f} s real time: CPU time per hour",
                  f"{d['cpu_seconds_per_hour']:.1f} s/h ({d['cpu_percent']:.2f} % of a core)"))
    table.append(("pumpd peak RSS", f"{d['peak_rss_mb']:.1f} MB"))
    for loop in ["dose_loop", "watchdog"]:
        w = d["lateness"][loop]
        table.append((f"{loop.replace('_', ' ')} wake lateness p50 / p99 / p99.9 / max ({w['wakes']} wakes)",
                      f"{w['p50_ms']} / {w['p99_ms']} / {w['p999_ms']} / {w['max_ms']} ms"))
    table.append(("journal commit p50 / p99 / max (one stroke intent, rollback journal, synchronous=FULL)",
                  f"{res['commit_ms_p50']:.3f} / {res['commit_ms_p99']:.3f} / {res['commit_ms_max']:.3f} ms"))

    json.dump(res, open(out_json, "w"), indent=1, sort_keys=True)
    print("| measure | value |")
    print("|---|---|")
    for k, v in table:
        print(f"| {k} | {v} |")
    print()
    print("Occlusion: time and volume from the kink to the alarm, ours vs a fixed +100 mmHg threshold (same run, same plant)")
    print()
    print("| plant | mL/day | ours: min | ours: strokes (µL) | fixed: min | fixed: strokes (µL) | fixed / ours, time | fixed / ours, volume |")
    print("|---|---|---|---|---|---|---|---|")
    for o in res["occlusion"]:
        def fmt(x, f="{:.1f}"):
            return "—" if x is None else f.format(x)
        print(f"| {o['plant']} | {o['rate_ml_per_day']} | {fmt(o['ours_min'], '{:.2f}')} | {o['ours_strokes']} ({fmt(o['ours_ul'], '{:.2f}')}) | "
              f"{fmt(o['fixed_min'])} | {fmt(o['fixed_strokes'], '{}')} ({fmt(o['fixed_ul'], '{:.1f}')}) | {fmt(o['ratio_time'])}× | {fmt(o['ratio_volume'])}× |")


def slug(s):
    return "".join(c if c.isalnum() else "-" for c in s).strip("-")


def plot_occlusion(work, plots):
    rows = read_trace(os.path.join(work, "occlusion-trace.csv"))
    r = json.load(open(os.path.join(work, "occlusion-trace.json")))
    onset = r["faults"][0]["at_s"]
    ours = r["faults"][0]["detected_at_s"]
    halt = r["halts"][0]["at_s"] if r["halts"] else None
    fixed = r["baseline"]["alarm_at_s"]
    t = [(x[0] - onset) / 60 for x in rows if x[1] is not None]
    p = [x[1] for x in rows if x[1] is not None]
    fig, (ax, zoom) = plt.subplots(1, 2, figsize=(13, 4.4), gridspec_kw={"width_ratios": [2, 1]})
    strokes = [(rows[i][0] - onset) / 60 for i in range(1, len(rows)) if rows[i][2] > rows[i - 1][2]]
    for a, lo, hi in [(ax, min(t), max(t)), (zoom, -3, 3)]:
        a.plot(t, p, lw=0.7, color="tab:blue", label="catheter pressure (reading)")
        a.plot(strokes, [min(p) - 3] * len(strokes), "|", color="black", ms=8, label="strokes")
        a.axvline(0, color="grey", ls=":", label="kink")
        a.axvline((ours - onset) / 60, color="tab:green", lw=2, label=f"our alarm (+{(ours - onset) / 60:.1f} min)")
        if halt is not None:
            a.axvline((halt - onset) / 60, color="tab:green", ls="--", label="our halt (a conventional pump continues)")
        if fixed is not None:
            a.axvline((fixed - onset) / 60, color="tab:red", lw=2, label=f"fixed +100 mmHg alarm (+{(fixed - onset) / 60:.1f} min)")
        a.set_xlim(lo, hi)
        a.set_xlabel("minutes from the kink")
        a.set_ylabel("mmHg")
    zoom.set_ylim(min(p) - 5, 25)
    zoom.set_title("the first minutes")
    ax.set_title("Occlusion at 0.5 mL/day, default plant: both detectors on one trace")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(os.path.join(plots, "occlusion.png"), dpi=110)
    plt.close(fig)


def plot_day(work, plots):
    rows = read_trace(os.path.join(work, "day-trace.csv"))
    t = [x[0] / 3600 for x in rows if x[1] is not None]
    p = [x[1] for x in rows if x[1] is not None]
    fig, ax = plt.subplots(figsize=(10, 3.6))
    ax.plot(t, p, lw=0.4)
    ax.set_xlabel("hour")
    ax.set_ylabel("mmHg")
    ax.set_title("A normal day at 0.5 mL/day, default plant, 24 random coughs: no alarm")
    fig.tight_layout()
    fig.savefig(os.path.join(plots, "normal-day.png"), dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
