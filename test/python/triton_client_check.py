"""Drives a Modelplane server with the official Triton HTTP client (tritonclient[http]).

usage: triton_client_check.py <host:port> <api key> <reference.json>
Prints one JSON line of results; exits non-zero on the first mismatch.
"""
import json
import sys

import numpy as np
import tritonclient.http as httpclient

url, key, reference_file = sys.argv[1], sys.argv[2], sys.argv[3]
headers = {"Authorization": f"Bearer {key}"}
reference = json.load(open(reference_file))
features = np.array(reference["inputs"]["features"]["data"], dtype=np.float32).reshape(reference["inputs"]["features"]["shape"])
expected = np.array(reference["outputs"]["probabilities"]["data"], dtype=np.float32).reshape(reference["outputs"]["probabilities"]["shape"])

client = httpclient.InferenceServerClient(url=url)
results = {}
results["live"] = client.is_server_live(headers=headers)
results["ready"] = client.is_server_ready(headers=headers)
results["model_ready"] = client.is_model_ready("ids", headers=headers)
metadata = client.get_model_metadata("ids", headers=headers)
results["metadata_inputs"] = metadata["inputs"]
config = client.get_model_config("ids", headers=headers)
results["max_batch_size"] = config["max_batch_size"]

for binary in (False, True):
    infer_input = httpclient.InferInput("features", list(features.shape), "FP32")
    infer_input.set_data_from_numpy(features, binary_data=binary)
    output = httpclient.InferRequestedOutput("probabilities", binary_data=binary)
    response = client.infer("ids", [infer_input], outputs=[output], request_id=f"req-{binary}", headers=headers)
    got = response.as_numpy("probabilities")
    if got.shape != expected.shape or not np.allclose(got, expected, atol=1e-5):
        print(json.dumps({"error": f"binary={binary}: outputs differ", "got": got.tolist()}))
        sys.exit(1)
    results[f"infer_binary_{binary}"] = {"id": response.get_response()["id"], "version": response.get_response()["model_version"]}

try:
    bad = httpclient.InferInput("features", [1, 63], "FP32")
    bad.set_data_from_numpy(np.zeros((1, 63), dtype=np.float32))
    client.infer("ids", [bad], headers=headers)
    results["bad_shape"] = "accepted"
except Exception as error:  # tritonclient raises InferenceServerException with the server's message
    results["bad_shape"] = str(error)

print(json.dumps(results))
