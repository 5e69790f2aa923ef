"""``fewlat meta-train / suite / eval / predict-table`` end to end on the repo's measured data."""

from __future__ import annotations

import csv
import json
import shlex
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fewlat.meta.predictor import load_checkpoint
from fewlat.meta.tables import read_table, write_table
from fewlat.service.cli import app
from tests.conftest import MEASURED

runner = CliRunner()
HELD_OUT = "epyc-mnn-2t"


def _run(args: str, **kwargs):
    return runner.invoke(app, shlex.split(args), **kwargs)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, str]:
    """(checkpoint folder, what ``meta-train`` printed)."""
    out = tmp_path_factory.mktemp("ck") / "tiny"
    result = _run(
        f"meta-train --data {MEASURED} --spaces nb201 --steps 3 --max-archs 16 "
        f"--exclude-devices {HELD_OUT} --out {out} --seed 1 --no-baseline",
        env={"FEWLAT_CACHE_DIR": str(out.parent / "cache")},
    )
    assert result.exit_code == 0, result.output
    return out, result.output


@pytest.fixture(scope="module")
def checkpoint(trained) -> Path:
    return trained[0]


def test_meta_train_writes_a_checkpoint_with_manifest_and_suite(trained):
    checkpoint, output = trained
    meta = load_checkpoint(checkpoint)
    assert list(meta.suites_) == ["nb201"] and len(meta.suites_["nb201"]) == 10
    manifest = meta.info_["manifest"]["nb201"]
    assert HELD_OUT not in manifest["devices"] and len(manifest["table_sha256"]) == 64
    assert meta.info_["excluded_devices"] == [HELD_OUT]
    assert meta.info_["data_roots"] == [str(MEASURED)]
    # the resumable progress is gone once the checkpoint is written
    assert not checkpoint.with_name(checkpoint.name + ".partial").exists()
    state = meta.info_["largest_device_state"]
    assert 0 < state["value"] < 30 and meta.info_["skipped_steps"] == 0
    assert (
        f"training health: 0 skipped steps; largest device state {state['value']:.1f} "
        f"({state['device']}, nb201, K={state['shots']}; adaptation stalls past 30)"
    ) in " ".join(output.split())
    # one space: nothing to fit the interval outside a suite's space on
    assert meta.intervals_ is None or meta.intervals_.outside is None
    if meta.intervals_ is not None:
        assert (
            "80% interval outside a suite's space: ×/÷ 2.00 (default: no calibration device has "
            "two spaces)"
        ) in " ".join(output.split())


def test_meta_train_says_whether_the_interval_outside_a_suites_space_was_fitted():
    from fewlat.meta.predictor import IntervalScales
    from fewlat.service.cli._train import _outside_line

    fitted = IntervalScales(scale=(1.0,), floor=(0.1,), outside=0.785)
    assert _outside_line(fitted).endswith("×/÷ 2.19 (fitted on the calibration devices)")
    default = IntervalScales(scale=(1.0,), floor=(0.1,))
    assert "×/÷ 2.00 (default: no calibration device has two spaces)" in _outside_line(default)


def test_suite_lists_the_checkpoint_suite(checkpoint):
    result = _run(f"suite --space nb201 --json --checkpoint {checkpoint}")
    assert result.exit_code == 0, result.output
    suite = json.loads(result.stdout)
    assert [e["position"] for e in suite["entries"]] == list(range(10))
    assert suite["entries"][0]["arch"] == load_checkpoint(checkpoint).suites_["nb201"][0]
    bad = _run(f"suite --space fbnet --checkpoint {checkpoint}")
    assert bad.exit_code == 1 and "no suite for 'fbnet'" in bad.stderr


def test_eval_scores_an_unseen_device_and_refuses_seen_ones(checkpoint, tmp_path):
    env = {"FEWLAT_CACHE_DIR": str(tmp_path / "cache")}
    seen = _run(
        f"eval --data {MEASURED} --space nb201 --devices epyc-mnn-1t --checkpoint {checkpoint}",
        env=env,
    )
    assert seen.exit_code == 1 and "--allow-seen" in seen.stderr
    out, plot = tmp_path / "r.json", tmp_path / "r.png"
    result = _run(
        f"eval --data {MEASURED} --space nb201 --devices {HELD_OUT} --shots 3,10 "
        f"--checkpoint {checkpoint} --json {out} --plot {plot}",
        env=env,
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["space"] == "nb201"
    methods = {r["method"] for r in report["results"]}
    assert methods == {"fewlat", "zero-shot", "device-mix", "ridge", "flops"}
    keys = {"device", "shots", "method", "spearman", "kendall", "mape", "acc5", "acc10"}
    for row in report["results"]:
        assert keys | {"mean_accuracy", "n"} <= set(row)
        assert row["n"] == 990 and -1 <= row["spearman"] <= 1
    assert plot.stat().st_size > 10_000


def test_predict_table_reads_only_the_suite_rows(checkpoint, tmp_path):
    meta = load_checkpoint(checkpoint)
    full = read_table(MEASURED, "nb201")
    suite = set(meta.suites_["nb201"])
    keep = {a: full.lookup_ms(a, HELD_OUT) for a in full.archs if a in suite}
    only_suite = full.select_devices([]).with_measurements(HELD_OUT, keep)
    write_table(only_suite, tmp_path / "t")
    out = tmp_path / "p.csv"
    result = _run(
        f"predict-table --data {tmp_path / 't'} --space nb201 --device {HELD_OUT} "
        f"--shots 10 --out {out} --checkpoint {checkpoint}",
        env={"FEWLAT_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.exit_code == 0, result.output
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(full)
    predicted = np.array([float(r["predicted_ms"]) for r in rows])
    low = np.array([float(r["low_ms"]) for r in rows])
    assert np.all(predicted > 0) and np.all(low < predicted)
    assert [int(r["idx"]) for r in rows] == full.idx.tolist()


def test_predict_table_without_the_anchor_says_what_to_measure(checkpoint, tmp_path):
    full = read_table(MEASURED, "nb201")
    anchor = load_checkpoint(checkpoint).suites_["nb201"][0]
    other = next(a for a in full.archs if a != anchor)
    table = full.select_devices([]).with_measurements("board", {other: 3.0})
    write_table(table, tmp_path / "t")
    result = _run(
        f"predict-table --data {tmp_path / 't'} --space nb201 --device board --shots 3 "
        f"--out {tmp_path / 'p.csv'} --checkpoint {checkpoint}"
    )
    assert result.exit_code == 1 and "suite anchor" in result.stderr
    assert not (tmp_path / "p.csv").exists()


def test_folds_deal_sorted_names_round_robin():
    from fewlat.service.handlers import folds_of

    assert folds_of(["d", "a", "c", "b", "e"], 2) == [["a", "c", "e"], ["b", "d"]]
    assert folds_of(["a"], 3) == [["a"]]


def test_eval_cv_scores_every_device_with_a_model_that_never_saw_it(checkpoint, tmp_path):
    out = tmp_path / "cv.json"
    env = {"FEWLAT_CACHE_DIR": str(tmp_path / "cache")}
    args = (
        f"eval --data {MEASURED} --space nb201 --devices epyc-mnn-1t,epyc-ort-1t-optall "
        f"--shots 3 --checkpoint {checkpoint} --cv 2 --cv-steps 2 --train-data {MEASURED} "
        f"--json {out}"
    )
    result = _run(args, env=env)
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())["results"]
    assert {r["device"] for r in rows} == {"epyc-mnn-1t", "epyc-ort-1t-optall"}
    scored = {"epyc-mnn-1t", "epyc-ort-1t-optall"}
    fold_models = _fold_models(tmp_path)
    unseen = [
        scored - set(load_checkpoint(m).info_["manifest"]["nb201"]["devices"]) for m in fold_models
    ]
    # each fold model lacks its fold's devices, and together the folds cover every scored device
    assert all(unseen) and set().union(*unseen) == scored
    # finished folds keep no resumable progress, and a rerun reuses the fold checkpoints
    assert not list((tmp_path / "cache" / "cv").glob("*.partial"))
    assert _run(args, env=env).exit_code == 0
    assert _fold_models(tmp_path) == fold_models


def test_held_out_cases_pairs_each_device_with_a_fold_model_that_never_saw_it(checkpoint, tmp_path):
    from fewlat.meta.tables import read_pool
    from fewlat.service.handlers import held_out_cases

    recipe = load_checkpoint(checkpoint)
    train = {s: read_pool([MEASURED], s) for s in recipe.suites_}
    tables = list(train.values())
    seen = []
    for meta, table, device, case in held_out_cases(
        recipe, train, tables, 2, fold_dir=tmp_path / "cv", steps=2
    ):
        assert device not in meta.info_["manifest"][table.space]["devices"]
        assert len(case.measured_ms) == len(case.archs) > 0
        seen.append((table.space, device))
    assert sorted(seen) == sorted((t.space, d) for t in tables for d in t.devices)


def _fold_models(root: Path) -> list[Path]:
    return sorted(p for p in (root / "cache" / "cv").iterdir() if p.is_dir() and "." not in p.name)
