"""Could the training devices' own errors correct the GNN on a new device? Tried and measured.

    python benchmarks/residual_mix.py [--spaces fbnet] [--steps 1875] [--folds 4]

On FBNet the meta-trained GNN fits some devices poorly *even when it was trained on
them* (the Intel CPUs at ρ 0.77–0.82, the batch-64 GPUs at 0.90–0.93, against 0.945–0.998
for a per-device linear model over many archs, ``ceiling.py``), while ``device-mix`` (a
ridge over the training devices' measured latencies) ranks those devices well and
the others badly. Residual-mix keeps the GNN and borrows the training devices'
*errors*: the held-out device's device-mix weights ``c`` (fitted on its K shots
against the training devices' suite timings) mix the training devices' residuals
``r_d = log measured_d − log GNN_d`` (each device's GNN adapted on its whole suite),
and the prediction is ``log GNN + Σ_d c_d r_d``.

The residual of an arch is only known where the training devices measured it, so
the archs are split in two seeded halves: the held-out device is scored on half B,
and the residuals of half B come

* ``resmix-table``: from the tables themselves (possible only for archs every
  training device measured: an upper reference, not a predictor);
* ``resmix-tokens``: from a ridge per training device over one-hot (position,
  block choice) tokens, fitted on its half-A residuals (arch strings only);
* ``resmix-colours``: from a ridge over the GNN's last-level colour counts (any
  graph), fitted the same way.

Run on FBNet, the space whose gap this is. The colour form holds every arch's colour
counts densely and solves a ridge over all colours: an OFA run passed 14 GB of this
24 GiB machine before its first device and was stopped (NB201 was not tried).

Reuses the fold networks of ``benchmarks/cv_report.py`` (trained first if missing)
and scores every device with the one that never saw it. Prints mean Spearman ρ per
space, method and K; writes ``benchmarks/results/residual_mix.json`` (the means,
plus ``"devices"``: per device ρ at K = 10, and ``seen``: the mean over the fold
networks trained on the device of their ρ on it, adapted on its whole suite) and a
per-device plot beside it.
"""

from __future__ import annotations

from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from _fold_scores import (
    SHOTS,
    Scores,
    arch_halves,
    fold_parser,
    manifest_log_ms,
    print_space,
    recipe_and_tables,
    space_cases,
    write_scores,
)
from ceiling import one_hot_by_position

from fewlat.meta.evaluation import DeviceCase, device_mix
from fewlat.meta.metrics import spearman
from fewlat.meta.predictor import MetaPredictor, runs_eagerly
from fewlat.meta.tables import LatencyTable
from fewlat.service.cli import kept_on_disk

MIX_ALPHA = 0.1  # device-mix's ridge
RESIDUAL_ALPHA = 1.0  # the residual models' ridge
METHODS = ("fewlat", "resmix-table", "resmix-tokens", "resmix-colours")


def _ridge_fit(x: np.ndarray, y: np.ndarray, alpha: float) -> Callable[[np.ndarray], np.ndarray]:
    """Primal ridge with an unpenalised intercept; returns the fitted predictor."""
    mean_x, mean_y = x.mean(axis=0), y.mean()
    xc = x - mean_x
    coef = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ (y - mean_y))
    return lambda z: (z - mean_x) @ coef + mean_y


class _Residuals:
    """One fold network's residuals ``{method: [archs]}`` per training device, for one
    kind of device (eager or not), over every arch of the table."""

    def __init__(self, meta: MetaPredictor, table: LatencyTable, eager: bool, fit: np.ndarray):
        graphs = meta.cache.for_archs(table.space, table.archs, eager=eager)
        tokens = one_hot_by_position(list(table.archs))[:, :-1]
        colours = graphs.restricted()[1].numpy()  # counts of the colours they use
        suite_rows = [table.row_of(a) for a in meta.suites_[table.space]]
        self.by_device: dict[str, dict[str, np.ndarray]] = {}
        #: ρ of the network, adapted on the device's whole suite, on all its archs: how
        #: well the fold network fits a device it was trained on
        self.seen: dict[str, float] = {}
        for device, log_gnn in manifest_log_ms(meta, table, eager).items():
            column = table.column(device)
            if not np.isfinite(column[suite_rows]).all():
                continue
            measured = np.isfinite(column) & (column > 0)
            self.seen[device] = spearman(column[measured], np.exp(log_gnn[measured]))
            residual = np.full(len(table), np.nan)
            residual[measured] = np.log(column[measured]) - log_gnn[measured]
            rows = np.flatnonzero(fit & measured)
            self.by_device[device] = {
                "resmix-table": residual,
                "resmix-tokens": _ridge_fit(tokens[rows], residual[rows], RESIDUAL_ALPHA)(tokens),
                "resmix-colours": _ridge_fit(colours[rows], residual[rows], RESIDUAL_ALPHA)(
                    colours
                ),
            }


def _mix(log_basis: np.ndarray, suite_log: np.ndarray, shots_ms: np.ndarray) -> np.ndarray:
    """``Σ_d c_d · log_basis[:, d]`` with device-mix's weights c fitted on the K shots
    (device-mix is ``exp(basis @ c + b)``: applied to ``log_basis``, less its intercept)."""
    k = len(shots_ms)
    mixed = np.log(device_mix(log_basis, suite_log[:k], shots_ms, MIX_ALPHA))
    return mixed - np.log(
        device_mix(np.zeros((1, suite_log.shape[1])), suite_log[:k], shots_ms, MIX_ALPHA)
    )


def _score_device(
    meta: MetaPredictor, table: LatencyTable, case: DeviceCase, device: str,
    residuals: _Residuals, fit: np.ndarray,
) -> dict[tuple[str, int], float]:  # fmt: skip
    """ρ of every method at every K on the device's half-B query archs."""
    space = table.space
    suite_rows = [table.row_of(a) for a in meta.suites_[space]]
    query = np.array([table.row_of(a) for a in case.archs])
    scored = ~fit[query]
    basis = [
        d
        for d, r in residuals.by_device.items()
        if d != device and np.isfinite(r["resmix-table"][query[scored]]).all()
    ]
    suite_log = np.log(np.stack([table.column(d)[suite_rows] for d in basis], 1))
    out = {}
    for k in SHOTS:
        shots = case.shots_ms[:k]
        adapted = meta.adapt({space: shots.tolist()}, eager=case.eager)
        predicted = {"fewlat": np.log(adapted.predict(case.graphs).latency_ms)[scored]}
        for method in METHODS[1:]:
            r = np.stack([residuals.by_device[d][method][query[scored]] for d in basis], 1)
            predicted[method] = predicted["fewlat"] + _mix(r, suite_log, shots)
        for method, log_ms in predicted.items():
            out[(method, k)] = spearman(case.measured_ms[scored], np.exp(log_ms))
    return out


def main() -> None:
    parser = fold_parser(__doc__, "benchmarks/results/residual_mix.json")
    parser.set_defaults(spaces="fbnet")
    args = parser.parse_args()
    recipe, train = recipe_and_tables(args.data)
    scores: Scores = {}
    per_device: dict[str, dict[str, dict[str, float]]] = {}
    seen: dict[str, dict[str, list[float]]] = {}  # space → device → ρ per fold trained on
    with kept_on_disk(recipe.cache, None):
        for space in args.spaces.split(","):
            table = train[space]
            fit = arch_halves(table)  # half A; B is scored
            fold, residuals = None, {}
            for meta, device, case in space_cases(recipe, train, space, args.folds, args.steps):
                if meta is not fold:
                    fold, residuals = meta, {}
                if case.eager not in residuals:
                    residuals[case.eager] = _Residuals(meta, table, case.eager, fit)
                    for d, rho in residuals[case.eager].seen.items():
                        if runs_eagerly(table, d) == case.eager:
                            seen.setdefault(space, {}).setdefault(d, []).append(rho)
                rho = _score_device(meta, table, case, device, residuals[case.eager], fit)
                for (method, k), value in rho.items():
                    scores.setdefault((space, method, k), []).append(value)
                last = {m: rho[(m, SHOTS[-1])] for m in METHODS}
                per_device.setdefault(space, {})[device] = last
                print(space, device, " ".join(f"{m}={v:.3f}" for m, v in last.items()), flush=True)
            print_space(scores, space, SHOTS, width=16)
    for space, devices in seen.items():
        for device, rhos in devices.items():
            per_device[space].setdefault(device, {})["seen"] = float(np.mean(rhos))
    write_scores(scores, args.out, args.folds, args.steps, devices=per_device)
    _plot(per_device, args.out.with_suffix(".png"))


def _plot(per_device: dict[str, dict[str, dict[str, float]]], path) -> None:
    """Per space: each device's ρ at K = 10, fewlat against each residual-mix and
    against the fold networks' fit of the device when they were trained on it."""
    fig, axes = plt.subplots(1, len(per_device), figsize=(5.5 * len(per_device), 5), squeeze=False)
    for ax, (space, by_device) in zip(axes[0], per_device.items(), strict=True):
        devices = [v for v in by_device.values() if "fewlat" in v]
        own = np.array([v["fewlat"] for v in devices])
        for method, marker in zip([*METHODS[1:], "seen"], "o^sx", strict=True):
            other = np.array([v.get(method, np.nan) for v in devices])
            label = f"{method} (mean {np.nanmean(other):.3f})"
            ax.scatter(own, other, marker=marker, label=label)
        low = min(0.3, own.min())
        ax.plot([low, 1], [low, 1], "k--", lw=0.8)
        ax.set(
            title=f"{space}: fewlat mean {own.mean():.3f}, K=10, half B",
            xlabel="fewlat ρ (held out)", ylabel="residual-mix ρ; seen: fit when trained on",
        )  # fmt: skip
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
