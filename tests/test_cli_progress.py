"""Long commands report progress as plain lines when stderr is a log, not a terminal."""

from __future__ import annotations

from fewlat._cli import progress_bar


def test_progress_in_a_log_is_one_line_per_tenth(capsys) -> None:
    with progress_bar() as bar:  # pytest's captured stderr is not a terminal
        task = bar.add_task("meta-training", total=40, note="")
        for step in range(40):
            bar.update(task, advance=1, note=f"loss {step}")
        open_ended = bar.add_task("graphs", total=None, note="")
        bar.advance(open_ended)
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert captured.out == ""
    assert len(lines) == 10
    assert lines[0] == "meta-training: 10% (4/40) loss 3"
    assert lines[-1] == "meta-training: 100% (40/40) loss 39"
