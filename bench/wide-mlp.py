"""Writes a wide MLP (64 features -> hidden -> hidden -> 13 classes, softmax, dynamic batch) for bench/inference.ts.

Its weights (tens of MB) make one row's matrix-vector products memory-bound, as in recommendation and tabular models
served on CPU, so batching rows into one matrix-matrix product pays off. Too big to commit; built at bench time:

    python bench/wide-mlp.py OUT.onnx HIDDEN      # in the env of python/requirements-fixtures.txt
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out, hidden = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(1234)
inits, nodes = [], []


def dense(name, x, fan_in, fan_out, act):
    w = (rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(np.float32)
    b = (rng.standard_normal(fan_out) * 0.1).astype(np.float32)
    inits.extend([numpy_helper.from_array(w, f"{name}_w"), numpy_helper.from_array(b, f"{name}_b")])
    nodes.append(helper.make_node("Gemm", [x, f"{name}_w", f"{name}_b"], [f"{name}_out"]))
    nodes.append(helper.make_node(act, [f"{name}_out"], [f"{name}_act"]))
    return f"{name}_act"


h = dense("fc1", "features", 64, hidden, "Relu")
h = dense("fc2", h, hidden, hidden, "Relu")
h = dense("fc3", h, hidden, 13, "Softmax")
nodes[-1].output[0] = "class_probs"
graph = helper.make_graph(
    nodes,
    "wide_mlp",
    [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 64])],
    [helper.make_tensor_value_info("class_probs", TensorProto.FLOAT, ["batch", 13])],
    inits,
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
onnx.checker.check_model(model)
onnx.save_model(model, out)
