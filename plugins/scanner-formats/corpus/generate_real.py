"""Adds samples written by the real libraries: torch.save (PyTorch from PyPI) and Keras 3 (.keras and legacy .h5).
Run after generate.py (it appends to manifest.json); each library runs in its own environment:

    TORCH=1 <python with torch>  plugins/scanner-formats/corpus/generate_real.py
    KERAS=1 KERAS_BACKEND=jax <python with keras, jax, h5py> plugins/scanner-formats/corpus/generate_real.py
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "manifest.json")) as f:
    manifest = [entry for entry in json.load(f) if not entry.get("real")]
real = []


def record(kind, name, cls):
    real.append({"file": f"{kind}/{name}", "class": cls, "expected": "FAILED" if kind == "malicious" else "PASSED", "note": "written by the real library", "real": True})


if os.environ.get("TORCH"):
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.ReLU(), torch.nn.Linear(16, 13))
    torch.save(model.state_dict(), os.path.join(HERE, "benign", "torch_save_state_dict.pt"))
    record("benign", "torch_save_state_dict.pt", "torch.save state dict (PyTorch 2.5.1)")
    torch.save(model.state_dict(), os.path.join(HERE, "benign", "torch_save_legacy.pt"), _use_new_zipfile_serialization=False)
    record("benign", "torch_save_legacy.pt", "torch.save legacy (non-zip) format")

    class Payload:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    torch.save({"weights": model.state_dict(), "hook": Payload()}, os.path.join(HERE, "malicious", "torch_save_payload.pt"))
    record("malicious", "torch_save_payload.pt", "torch.save of an object whose __reduce__ calls os.system")

if os.environ.get("KERAS"):
    import keras

    dense = keras.Sequential([keras.Input((64,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(13, activation="softmax")])
    dense.save(os.path.join(HERE, "benign", "keras_real.keras"))
    record("benign", "keras_real.keras", "Keras 3 model (.keras)")
    dense.save(os.path.join(HERE, "benign", "keras_real.h5"))
    record("benign", "keras_real.h5", "Keras 3 model (legacy .h5)")
    lam = keras.Sequential([keras.Input((64,)), keras.layers.Lambda(lambda x: x * 2), keras.layers.Dense(13)])
    lam.save(os.path.join(HERE, "malicious", "keras_real_lambda.keras"))
    record("malicious", "keras_real_lambda.keras", "Keras 3 Lambda layer (.keras)")
    lam.save(os.path.join(HERE, "malicious", "keras_real_lambda.h5"))
    record("malicious", "keras_real_lambda.h5", "Keras 3 Lambda layer (legacy .h5)")

with open(os.path.join(HERE, "manifest.json")) as f:
    previous_real = [entry for entry in json.load(f) if entry.get("real") and entry["file"] not in {r["file"] for r in real}]
with open(os.path.join(HERE, "manifest.json"), "w") as f:
    json.dump(manifest + previous_real + real, f, indent=1)
print(f"{len(real)} samples from real libraries")
