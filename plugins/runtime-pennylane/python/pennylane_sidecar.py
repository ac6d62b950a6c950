"""PennyLane sidecar: seed 001's hybrid quantum-classical network, built from a JSON spec and safetensors weights.

encoder Linear(64→4) + tanh → AngleEmbedding + StronglyEntanglingLayers on n qubits × n layers → ⟨Z_i⟩ per qubit →
decoder Linear(4→32) + ReLU → Linear(32→13) → softmax. Weight names follow the seed's torch module state_dict, so a
converted seed checkpoint loads as is. Nothing from the artifact is imported or unpickled.
"""

import numpy as np
import pennylane as qml
from safetensors.numpy import load as load_safetensors

from modelplane_sidecar import BadInput, expect_weights, serve

SPEC_KEYS = {"architecture", "input_dim", "n_qubits", "n_layers", "hidden_dim", "output_dim", "rotation"}

def check_spec(spec):
    # Node checked the spec already; checking again here keeps the sidecar safe when started by anything else.
    if not isinstance(spec, dict) or set(spec) - SPEC_KEYS or spec.get("architecture") != "hybrid-qnn":
        raise ValueError(f"not a hybrid-qnn spec: {spec!r}")
    for key in ("input_dim", "n_qubits", "n_layers", "hidden_dim", "output_dim"):
        if not isinstance(spec.get(key), int) or not 0 < spec[key] <= 4096:
            raise ValueError(f"spec.{key} must be a positive integer")
    if spec.get("rotation", "X") not in ("X", "Y", "Z"):
        raise ValueError("spec.rotation must be X, Y or Z")

def weight_shapes(spec):
    q, hidden = spec["n_qubits"], spec["hidden_dim"]
    return {
        "classical_encoder.0.weight": (q, spec["input_dim"]),
        "classical_encoder.0.bias": (q,),
        "quantum_weights": (spec["n_layers"], q, 3),
        "classical_decoder.0.weight": (hidden, q),
        "classical_decoder.0.bias": (hidden,),
        "classical_decoder.2.weight": (spec["output_dim"], hidden),
        "classical_decoder.2.bias": (spec["output_dim"],),
    }

class HybridQnn:
    def __init__(self, spec, weights, options):
        check_spec(spec)
        expect_weights(weights, weight_shapes(spec), "weights")
        self.spec = spec
        self.w = {k: v.astype(np.float64) for k, v in weights.items()}
        q = spec["n_qubits"]
        self.device_name = options.get("device", "default.qubit")
        device = qml.device(self.device_name, wires=q)
        rotation = spec.get("rotation", "X")

        # Inference only: no gradients, and PennyLane broadcasts a batch of embeddings through one circuit.
        @qml.qnode(device, diff_method=None)
        def circuit(inputs, weights):
            qml.AngleEmbedding(inputs, wires=range(q), rotation=rotation)
            qml.StronglyEntanglingLayers(weights, wires=range(q))
            return [qml.expval(qml.PauliZ(i)) for i in range(q)]

        self.circuit = circuit
        self.inputs = [{"name": "features", "datatype": "FP32", "shape": [-1, spec["input_dim"]]}]
        self.outputs = [
            {"name": "probabilities", "datatype": "FP32", "shape": [-1, spec["output_dim"]]},
            {"name": "expectations", "datatype": "FP32", "shape": [-1, q]},
        ]

    def describe(self):
        return {"device": self.device_name, "pennylane": qml.__version__, "qubits": self.spec["n_qubits"], "layers": self.spec["n_layers"]}

    def infer(self, inputs, outputs):
        x = inputs.get("features")
        if x is None or x.ndim != 2 or x.shape[1] != self.spec["input_dim"]:
            raise BadInput(f'input "features" must be [N, {self.spec["input_dim"]}]')
        w = self.w
        encoded = np.tanh(x.astype(np.float64) @ w["classical_encoder.0.weight"].T + w["classical_encoder.0.bias"])
        if len(encoded) == 1:
            z = np.stack(self.circuit(encoded[0], w["quantum_weights"]))[None, :]
        else:
            z = np.stack(self.circuit(encoded, w["quantum_weights"]), axis=1)
        hidden = np.maximum(z @ w["classical_decoder.0.weight"].T + w["classical_decoder.0.bias"], 0)
        logits = hidden @ w["classical_decoder.2.weight"].T + w["classical_decoder.2.bias"]
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return {"probabilities": (e / e.sum(axis=1, keepdims=True)).astype(np.float32), "expectations": z.astype(np.float32)}

def load(header, payload):
    return HybridQnn(header["spec"], load_safetensors(payload), header.get("options", {}))

if __name__ == "__main__":
    serve(load)
