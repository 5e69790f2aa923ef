"""Regenerate fewlat.v1's Python code from ``proto/fewlat/v1/*.proto``.

Usage: ``python proto/generate.py [--out DIR]`` (default: next to the .proto files).
``tests/v1/test_generated.py`` fails when the committed code is stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parent


def generate(out: Path = PROTO_ROOT) -> list[Path]:
    """Run ``grpc_tools.protoc`` on every .proto under ``fewlat/v1``; return the files written."""
    import grpc_tools
    from grpc_tools import protoc

    protos = sorted((PROTO_ROOT / "fewlat" / "v1").glob("*.proto"))
    include = Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *(str(p.relative_to(PROTO_ROOT)) for p in protos),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed; see the message above")
    return sorted((out / "fewlat" / "v1").glob("*_pb2*.py*"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROTO_ROOT)
    for path in generate(parser.parse_args().out):
        print(path, file=sys.stderr)
