"""NAS-Bench-201: the cell space of NAS-Bench-201 on CIFAR-10 (15,625 members).

Arch strings are NAS-Bench-201's (and HELP's) own spelling, which is also the
canonical one::

    |op~0|+|op~0|op~1|+|op~0|op~1|op~2|

The three ``+``-separated groups describe cell nodes 1, 2 and 3; the entry
``op~i`` in group ``j`` is the op on the edge from node ``i`` to node ``j``.
The ops are :data:`OPS`: ``none``, ``skip_connect``, ``nor_conv_1x1``,
``nor_conv_3x3`` and ``avg_pool_3x3``.

:meth:`NB201Space.enumerate` order: :func:`itertools.product` over the six
edges in string order (0→1, 0→2, 1→2, 0→3, 1→3, 2→3), each edge running through
:data:`OPS` in the order above; the last edge (2→3) changes fastest. The first
member is the all-``none`` cell and the last the all-``avg_pool_3x3`` cell.

Network (input 1×3×32×32, C=16, N=5, 10 classes): stem Conv3×3(3→C, no bias) +
BN; N cells at C; ResNet block C→2C (stride 2); N cells at 2C; ResNet block
2C→4C (stride 2); N cells at 4C; BN, ReLU, global average pool, Linear(4C→10).
Every cell of one network uses the same arch. A ResNet block is
``shortcut(x) + b(a(x))`` with a = ReLU→Conv3×3(stride 2)→BN,
b = ReLU→Conv3×3→BN and shortcut = AvgPool(2, 2)→Conv1×1 (no BN).

Ops: ``nor_conv_kxk`` is ReLU→Conv(k, pad k//2, no bias)→BN; ``avg_pool_3x3``
is AvgPool(3, stride 1, pad 1, count_include_pad=False); ``skip_connect`` is
the identity and adds no ONNX node.

How a cell becomes ONNX (node ``j`` is the sum of its incoming edges):

1. ``none`` edges are dropped.
2. A node with no incoming edge left is *zero*; the edges out of a zero node
   are dropped too (their ops would only act on an all-zero tensor).
3. If the output node (3) is zero, the cell emits ``Mul(cell_input, 0)`` with a
   scalar zero initializer, which is what NAS-Bench-201's ``Zero`` op computes,
   so that the network stays connected.
4. Nodes whose values do not reach node 3 (dead ends) are pruned with all the
   computation feeding only them.
5. A node with several incoming edges is a chain of ``Add`` in edge order.

:meth:`NB201Space.eager_model` builds the cell as NAS-Bench-201's PyTorch code
runs it instead: every edge is computed, ``none`` as ``Mul(x, 0)``, and every
node is the ``Add`` chain of all its incoming edges, so nothing is pruned.
Latencies measured with that code (HELP's tables) depend on the operations
the rules above remove: under the rules, 1,500 random archs collapse to ~830
distinct models with different measured latencies.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from functools import lru_cache

import numpy as np
import onnx

from fewlat.exceptions import InvalidArchError
from fewlat.spaces._base import Space
from fewlat.spaces._onnx_builder import OnnxBuilder

__all__ = ["EDGES", "NUM_ARCHS", "OPS", "NB201Space"]

#: edge ops, in the order :meth:`NB201Space.enumerate` and sampling use
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: the six cell edges (from node, to node) in arch-string order
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
#: number of members of the space
NUM_ARCHS = len(OPS) ** len(EDGES)

_INPUT_SHAPE = (1, 3, 32, 32)
_CHANNELS = 16  # C
_CELLS_PER_STAGE = 5  # N
_NUM_CLASSES = 10
_VALID_OPS = ", ".join(OPS)

#: one cell's ONNX plan: (node, [(from node, op), ...]) for each node to compute,
#: in topological order; an empty plan with ``zero=True`` means the output is zero
_Plan = tuple[tuple[tuple[int, tuple[tuple[int, str], ...]], ...], bool]


def _format(ops: tuple[str, ...]) -> str:
    """The canonical string of the six edge ops given in :data:`EDGES` order."""
    groups, k = [], 0
    for node in (1, 2, 3):
        groups.append("|" + "|".join(f"{ops[k + i]}~{i}" for i in range(node)) + "|")
        k += node
    return "+".join(groups)


@lru_cache(maxsize=4096)
def _parse(arch: str) -> tuple[str, ...]:
    """Parse ``arch`` into its six edge ops in :data:`EDGES` order.

    Raises:
        InvalidArchError: the string does not describe a member; the message
            names the offending part and lists the valid ops.
    """
    example = _format(("nor_conv_3x3",) * len(EDGES))
    groups = arch.strip().split("+")
    if len(groups) != 3:
        raise InvalidArchError(
            f"NB201 arch {arch!r} must have 3 '+'-separated node groups "
            f"(e.g. {example!r}); got {len(groups)}."
        )
    ops: list[str] = []
    for node, group in enumerate(groups, start=1):
        if len(group) < 2 or group[0] != "|" or group[-1] != "|":
            raise InvalidArchError(
                f"Node group {node} {group!r} of NB201 arch {arch!r} must start and end "
                f"with '|' (e.g. {example!r})."
            )
        edges = group[1:-1].split("|")
        if len(edges) != node:
            raise InvalidArchError(
                f"Node group {node} {group!r} of NB201 arch {arch!r} must list {node} "
                f"edge(s) op~0..op~{node - 1}; got {len(edges)}."
            )
        for position, edge in enumerate(edges):
            op, sep, source = edge.partition("~")
            if not sep:
                raise InvalidArchError(
                    f"Edge {edge!r} in node group {node} of NB201 arch {arch!r} must be "
                    f"written op~{position}. Valid ops: {_VALID_OPS}."
                )
            if op not in OPS:
                raise InvalidArchError(
                    f"Unknown op {op!r} in edge {edge!r} of node group {node} of NB201 arch "
                    f"{arch!r}. Valid ops: {_VALID_OPS}."
                )
            if source != str(position):
                raise InvalidArchError(
                    f"Edge {edge!r} in node group {node} of NB201 arch {arch!r} has input "
                    f"index {source!r}; edge {position + 1} of a group must end in "
                    f"'~{position}'."
                )
            ops.append(op)
    return tuple(ops)


@lru_cache(maxsize=4096)
def _plan(ops: tuple[str, ...], prune: bool = True) -> _Plan:
    """Apply the module's cell rules to the six edge ops (see the module docstring);
    ``prune=False`` keeps every edge and node (the eager model)."""
    incoming: dict[int, list[tuple[int, str]]] = {1: [], 2: [], 3: []}
    for (src, dst), op in zip(EDGES, ops, strict=True):
        # EDGES is sorted by destination, so incoming[src] is final when it is read
        src_is_zero = src != 0 and not incoming[src]
        if not prune or (op != "none" and not src_is_zero):
            incoming[dst].append((src, op))
    if not prune:
        return tuple((node, tuple(incoming[node])) for node in (1, 2, 3)), False
    if not incoming[3]:
        return (), True
    needed = {3}
    for node in (3, 2, 1):  # walk back from the output: what feeds a needed node is needed
        if node in needed:
            needed.update(src for src, _ in incoming[node])
    steps = tuple((node, tuple(incoming[node])) for node in (1, 2, 3) if node in needed)
    return steps, False


class NB201Space(Space):
    """The NAS-Bench-201 cell space; see the module docstring for the rules."""

    name = "nb201"
    finite = True
    fixed_input_shape = _INPUT_SHAPE

    def canonical(self, arch: str) -> str:
        """Validate ``arch`` and return its canonical spelling.

        Surrounding whitespace is ignored; otherwise the string must be in
        NAS-Bench-201's format, which is already canonical.

        Raises:
            InvalidArchError: ``arch`` is not a str or not a member; the message
                names the offending part and lists the valid ops.
        """
        if not isinstance(arch, str):
            raise InvalidArchError(f"NB201 arch must be a str, got {type(arch).__name__}.")
        return _format(_parse(arch))

    def sample(self, rng: np.random.Generator, n: int) -> list[str]:
        """Draw ``n`` archs uniformly with replacement, each edge op i.i.d. uniform."""
        self._check_n(n)
        picks = rng.integers(0, len(OPS), size=(n, len(EDGES)))
        return [_format(tuple(OPS[i] for i in row)) for row in picks]

    def enumerate(self) -> Iterator[str]:
        """Yield all 15,625 members in the order the module docstring states."""
        for ops in itertools.product(OPS, repeat=len(EDGES)):
            yield _format(ops)

    def supernet(self) -> str:
        """Every edge ``nor_conv_3x3``."""
        return _format(("nor_conv_3x3",) * len(EDGES))

    def to_model(self, arch: str, *, with_weights: bool = False, seed: int = 0) -> onnx.ModelProto:
        """Build ``arch`` as ONNX with output ``(1, 10)``; see :meth:`Space.to_model`.

        Raises:
            InvalidArchError: ``arch`` is not a member.
        """
        self.canonical(arch)
        return self._build(_plan(_parse(arch)), with_weights, seed)

    def eager_model(
        self, arch: str, *, with_weights: bool = False, seed: int = 0
    ) -> onnx.ModelProto:
        """Build ``arch`` with every edge computed (module docstring, last paragraph).

        Raises:
            InvalidArchError: ``arch`` is not a member.
        """
        self.canonical(arch)
        return self._build(_plan(_parse(arch), prune=False), with_weights, seed)

    def _build(self, plan: _Plan, with_weights: bool, seed: int) -> onnx.ModelProto:
        b = OnnxBuilder(self.name, with_weights=with_weights, seed=seed)
        x = b.bn(b.conv(b.input(_INPUT_SHAPE), _CHANNELS, 3))
        for stage in range(3):
            if stage:
                x = _resnet_block(b, x, _CHANNELS << stage)
            for _ in range(_CELLS_PER_STAGE):
                x = _cell(b, x, plan)
        x = b.flatten(b.global_avg_pool(b.relu(b.bn(x))))
        b.output(b.gemm(x, _NUM_CLASSES))
        return b.build()


def _cell(b: OnnxBuilder, x: str, plan: _Plan) -> str:
    steps, zero = plan
    if zero:
        return b.mul(x, _zero_scalar(b))
    nodes = {0: x}
    for node, incoming in steps:
        total = None
        for src, op in incoming:
            y = _edge(b, nodes[src], op)
            total = y if total is None else b.add(total, y)
        nodes[node] = total
    return nodes[3]


def _edge(b: OnnxBuilder, x: str, op: str) -> str:
    if op == "none":  # only in eager models: NAS-Bench-201's Zero op
        return b.mul(x, _zero_scalar(b))
    if op == "skip_connect":
        return x
    if op == "avg_pool_3x3":
        return b.avg_pool(x, 3, stride=1, padding=1, count_include_pad=False)
    kernel = 1 if op == "nor_conv_1x1" else 3
    return b.bn(b.conv(b.relu(x), b.shapes[x][1], kernel))


def _resnet_block(b: OnnxBuilder, x: str, out_channels: int) -> str:
    y = b.bn(b.conv(b.relu(x), out_channels, 3, stride=2))
    y = b.bn(b.conv(b.relu(y), out_channels, 3))
    shortcut = b.conv(b.avg_pool(x, 2, stride=2), out_channels, 1)
    return b.add(shortcut, y)


def _zero_scalar(b: OnnxBuilder) -> str:
    """The shared scalar-0 initializer; it always carries its value (it is no weight)."""
    return b.const_f32(0.0, name="zero_scalar")
