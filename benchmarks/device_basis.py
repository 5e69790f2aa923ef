"""Would a device-mix over the GNN's own predictions help? An idea tried and measured.

    python benchmarks/device_basis.py [--steps 1875] [--folds 4] [--spaces nb201,fbnet]

The ``device-mix`` baseline (a ridge over the training devices' *measured* log
latencies of the same archs, fitted on the K shots) beats fewlat on some FBNet
devices (the Intel CPUs, the batch-64 GPUs), but it can only score archs that
every training device measured. Its general form would put the meta-trained GNN
in the tables' place: each training device of the fold network, adapted on its
whole suite, predicts every query, and the held-out device is a ridge over those
predicted log latencies ("gnn-mix"), alone or blended with fewlat's own
prediction (a geometric mean with weight w on the mix). The table-based
device-mix and its 50/50 blend with fewlat are scored beside them.

Reuses the fold models of ``benchmarks/cv_report.py`` (same ``--steps`` and
``--folds``; trained first if missing) and scores every device with the model
that never saw it. Prints mean Spearman ρ per space, method and K, and writes
``benchmarks/results/device_basis.json``. ``fewlat`` is the answer as shipped, the
mean of both networks, for the held-out device and for every manifest device.
"""

from __future__ import annotations

import numpy as np
from _fold_scores import (
    SHOTS,
    Scores,
    fold_parser,
    manifest_log_ms,
    print_space,
    recipe_and_tables,
    space_cases,
    write_scores,
)

from fewlat.meta.evaluation import device_mix, mix_inputs
from fewlat.meta.metrics import spearman
from fewlat.meta.predictor import MetaPredictor
from fewlat.meta.tables import LatencyTable
from fewlat.service.cli import kept_on_disk

BLEND_WEIGHTS = (0.25, 0.5)
RIDGE_ALPHA = 0.1  # device-mix's


def _basis(meta: MetaPredictor, table: LatencyTable, eager: bool) -> tuple[np.ndarray, np.ndarray]:
    """Predicted log ms ``[archs, T]`` of every arch of ``table`` and ``[suite, T]`` of the
    suite, by each of the T devices of :func:`manifest_log_ms`."""
    archs_log = np.stack(list(manifest_log_ms(meta, table, eager).values()), axis=1)
    return archs_log, archs_log[[table.row_of(a) for a in meta.suites_[table.space]]]


def main() -> None:
    args = fold_parser(__doc__, "benchmarks/results/device_basis.json").parse_args()
    recipe, train = recipe_and_tables(args.data)
    scores: Scores = {}
    with kept_on_disk(recipe.cache, None):
        for space in args.spaces.split(","):
            table = train[space]
            fold = None  # the fold network whose basis (per kind of device) is held
            for meta, device, case in space_cases(recipe, train, space, args.folds, args.steps):
                if meta is not fold:
                    fold, basis = meta, {}
                    trained = table.select_devices(meta.info_["manifest"][space]["devices"])
                if case.eager not in basis:
                    basis[case.eager] = _basis(meta, table, case.eager)
                archs_log, suite_log = basis[case.eager]
                query_log = archs_log[[table.row_of(a) for a in case.archs]]
                measured = mix_inputs(trained, device, case.archs, meta.suites_[space])
                for k in SHOTS:
                    shots = case.shots_ms[:k]
                    adapted = meta.adapt({space: shots.tolist()}, eager=case.eager)
                    own = adapted.predict(case.graphs).latency_ms
                    mix = device_mix(query_log, suite_log[:k], shots, RIDGE_ALPHA)
                    predicted = {"fewlat": own, "gnn-mix": mix}
                    for w in BLEND_WEIGHTS:
                        predicted[f"fewlat x gnn-mix, w={w}"] = own ** (1 - w) * mix**w
                    if measured is not None:
                        table_mix = device_mix(measured[0], measured[1][:k], shots, RIDGE_ALPHA)
                        predicted["device-mix"] = table_mix
                        predicted["fewlat x device-mix, w=0.5"] = np.sqrt(own * table_mix)
                    for name, values in predicted.items():
                        scores.setdefault((space, name, k), []).append(
                            spearman(case.measured_ms, values)
                        )
            print_space(scores, space, SHOTS, width=28)
    write_scores(scores, args.out, args.folds, args.steps)


if __name__ == "__main__":
    main()
