"""ModelGraph → PyG graph under a fixed, versioned feature schema.

The schema (feature names, op vocabulary, scaling) is documented in one place,
:mod:`fewlat.meta.features._schema`; :data:`FEATURE_SCHEMA_VERSION` changes
with it.
"""

from fewlat.meta.features._featurize import featurize
from fewlat.meta.features._schema import (
    EDGE_FEATURES,
    FEATURE_SCHEMA_VERSION,
    GRAPH_FEATURES,
    NODE_FEATURES,
    NUMERIC_NODE_FEATURES,
    OP_VOCAB,
)

__all__ = [
    "EDGE_FEATURES",
    "FEATURE_SCHEMA_VERSION",
    "GRAPH_FEATURES",
    "NODE_FEATURES",
    "NUMERIC_NODE_FEATURES",
    "OP_VOCAB",
    "featurize",
]
