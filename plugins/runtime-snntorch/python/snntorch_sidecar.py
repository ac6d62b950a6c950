"""snntorch sidecar: seed 001's spiking detector, built from a JSON spec and safetensors weights.

Linear → Leaky per layer (64 → 256 → 256 → 13 in the seed, beta 0.9); the input is presented as a constant current for
`num_steps` steps; outputs are the output layer's spike counts and its membrane potential at every step. Weight names
follow the seed's module (fc1.weight …); the neurons' beta and threshold come from the spec, not from the weights.
"""
import snntorch as snn
import torch
from safetensors.torch import load as load_safetensors

from modelplane_sidecar import BadInput, expect_weights, serve

SPEC_KEYS = {"architecture", "layer_sizes", "beta", "threshold"}


def check_spec(spec):
    # Node checked the spec already; checking again keeps the sidecar safe when started by anything else.
    if not isinstance(spec, dict) or set(spec) - SPEC_KEYS or spec.get("architecture") != "spiking-mlp":
        raise ValueError(f"not a spiking-mlp spec: {spec!r}")
    sizes = spec.get("layer_sizes")
    if not isinstance(sizes, list) or len(sizes) < 2 or not all(isinstance(n, int) and 0 < n <= 65536 for n in sizes):
        raise ValueError("spec.layer_sizes must list at least two positive integers")
    if not isinstance(spec.get("beta"), (int, float)) or not 0 <= spec["beta"] <= 1:
        raise ValueError("spec.beta must be a number in [0, 1]")


class SpikingMlp(torch.nn.Module):
    def __init__(self, spec):
        super().__init__()
        sizes = spec["layer_sizes"]
        self.layers = len(sizes) - 1
        for i in range(self.layers):
            setattr(self, f"fc{i + 1}", torch.nn.Linear(sizes[i], sizes[i + 1]))
            setattr(self, f"lif{i + 1}", snn.Leaky(beta=spec["beta"], threshold=spec.get("threshold", 1.0)))

    def forward(self, x, num_steps):
        mems = [getattr(self, f"lif{i + 1}").init_leaky() for i in range(self.layers)]
        spikes, trace = 0, []
        for _ in range(num_steps):
            current = x
            for i in range(self.layers):
                spk, mems[i] = getattr(self, f"lif{i + 1}")(getattr(self, f"fc{i + 1}")(current), mems[i])
                current = spk
            spikes = spikes + current
            trace.append(mems[-1])
        return spikes, torch.stack(trace, dim=1)


class Model:
    def __init__(self, spec, weights, options):
        check_spec(spec)
        sizes = spec["layer_sizes"]
        shapes = {}
        for i in range(len(sizes) - 1):
            shapes[f"fc{i + 1}.weight"] = (sizes[i + 1], sizes[i])
            shapes[f"fc{i + 1}.bias"] = (sizes[i + 1],)
        expect_weights(weights, shapes, "weights")
        wanted = options.get("device", "auto")
        self.device = torch.device("cuda" if wanted == "cuda" or (wanted == "auto" and torch.cuda.is_available()) else "cpu")
        if options.get("threads"):
            torch.set_num_threads(options["threads"])
        self.net = SpikingMlp(spec)
        # Only the Linear layers' tensors come from the file; the neurons are configured by the spec.
        missing = self.net.load_state_dict({k: v.float() for k, v in weights.items()}, strict=False).missing_keys
        assert all(k.startswith("lif") for k in missing), missing
        self.net.to(self.device).eval()
        self.num_steps = options.get("num_steps", 25)
        self.spec = spec
        self.inputs = [{"name": "features", "datatype": "FP32", "shape": [-1, sizes[0]]}]
        self.outputs = [
            {"name": "spike_counts", "datatype": "FP32", "shape": [-1, sizes[-1]]},
            {"name": "membrane_potentials", "datatype": "FP32", "shape": [-1, self.num_steps, sizes[-1]]},
        ]

    def describe(self):
        return {"device": str(self.device), "torch": torch.__version__, "snntorch": snn.__version__, "num_steps": self.num_steps, "threads": torch.get_num_threads()}

    def infer(self, inputs, outputs):
        x = inputs.get("features")
        if x is None or x.ndim != 2 or x.shape[1] != self.spec["layer_sizes"][0]:
            raise BadInput(f'input "features" must be [N, {self.spec["layer_sizes"][0]}]')
        with torch.inference_mode():
            spikes, trace = self.net(torch.from_numpy(x.copy()).to(self.device), self.num_steps)
        return {"spike_counts": spikes.cpu().numpy(), "membrane_potentials": trace.cpu().numpy()}


def load(header, payload):
    return Model(header["spec"], load_safetensors(payload), header.get("options", {}))


if __name__ == "__main__":
    serve(load)
