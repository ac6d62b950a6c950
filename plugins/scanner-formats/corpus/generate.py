"""Builds the scanner corpus: malicious samples for every class the scanner must catch (including the public bypass
classes of picklescan and modelscan) and benign samples it must pass. Nothing here is executed: payloads are
referenced, never called. Needs numpy, onnx and h5py (python/requirements-fixtures.txt).

    python plugins/scanner-formats/corpus/generate.py
"""
import collections
import io
import json
import os
import pickle
import shutil
import struct
import sys
import types
import zipfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
manifest = []


def write(kind, name, data, cls, note):
    folder = os.path.join(HERE, kind)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)
    manifest.append({"file": f"{kind}/{name}", "class": cls, "expected": "FAILED" if kind == "malicious" else "PASSED", "note": note})


def reduce_to(module, name, *args):
    """A pickle whose loading would call module.name(*args): written by hand so nothing is imported here."""
    body = b"c" + module.encode() + b"\n" + name.encode() + b"\n" + pickle.dumps(args, protocol=0)[:-1] + b"R."
    return body


def proto2_reduce(module, name, arg):
    mod, nm, a = (x.encode() for x in (module, name, arg))
    return (b"\x80\x02" + b"\x8c" + bytes([len(mod)]) + mod + b"\x8c" + bytes([len(nm)]) + nm + b"\x93"
            + b"\x8c" + bytes([len(a)]) + a + b"\x85R.")


for d in ("malicious", "benign"):
    shutil.rmtree(os.path.join(HERE, d), ignore_errors=True)

# ---- malicious: dangerous globals, protocols 0..5 ----
write("malicious", "os_system_p0.pkl", reduce_to("os", "system", "echo pwned"), "os.system protocol 0", "GLOBAL + REDUCE")
write("malicious", "posix_system_p2.pkl", proto2_reduce("posix", "system", "id"), "posix.system STACK_GLOBAL", "protocol 2 with SHORT_BINUNICODE operands")
write("malicious", "subprocess_p4.pkl", proto2_reduce("subprocess", "Popen", "sh").replace(b"\x80\x02", b"\x80\x04", 1), "subprocess.Popen protocol 4", "")
write("malicious", "eval_p5.pkl", proto2_reduce("builtins", "eval", "1+1").replace(b"\x80\x02", b"\x80\x05", 1), "builtins.eval protocol 5", "")
write("malicious", "exec_p1.pkl", reduce_to("__builtin__", "exec", "print(1)"), "__builtin__.exec (py2 name)", "")
write("malicious", "io_fileio.pkl", proto2_reduce("io", "FileIO", "/etc/passwd"), "io.FileIO (picklescan advisory)", "")
write("malicious", "logging_filehandler.pkl", proto2_reduce("logging", "FileHandler", "/tmp/x"), "logging.FileHandler (picklescan advisory)", "")
write("malicious", "urllib_request.pkl", proto2_reduce("urllib.request", "urlopen", "http://x"), "urllib.request (picklescan advisory)", "")
write("malicious", "types_codetype.pkl", proto2_reduce("types", "CodeType", "x"), "types.CodeType (cloudpickle gadget)", "")
write("malicious", "cloudpickle_function.pkl", proto2_reduce("cloudpickle.cloudpickle", "_builtin_type", "CodeType"), "cloudpickle internals", "")
write("malicious", "importlib.pkl", proto2_reduce("importlib", "import_module", "os"), "importlib.import_module (picklescan advisory)", "")
write("malicious", "marshal_loads.pkl", proto2_reduce("marshal", "loads", "c"), "marshal.loads (picklescan advisory)", "")
write("malicious", "pickle_loads.pkl", proto2_reduce("pickle", "loads", "c"), "pickle.loads nested (picklescan advisory)", "")
write("malicious", "torch_load_gadget.pt", proto2_reduce("torch", "load", "/tmp/evil.pt"), "torch.load gadget", "")
write("malicious", "torch_hub_gadget.pt", proto2_reduce("torch.hub", "load", "x"), "torch.hub gadget (modelscan#338 class)", "")
write("malicious", "operator_attrgetter.pkl", proto2_reduce("operator", "attrgetter", "system"), "operator.attrgetter gadget (modelscan#331 class)", "")
write("malicious", "functools_partial.pkl", proto2_reduce("functools", "partial", "x"), "functools.partial gadget (modelscan#267 class)", "")
write("malicious", "unknown_module.pkl", proto2_reduce("evil_pkg.payload", "run", "x"), "global not on the allowlist", "must be at least HIGH")

# __builtins__ reached through BUILD: an object whose state sets __builtins__.
build = (b"\x80\x02" + b"\x8c\x0bcollections\x8c\x0bOrderedDict\x93)R"
         + b"}\x8c\x0c__builtins__\x8c\x04evils" + b"b.")
write("malicious", "builtins_via_build.pkl", build, "__builtins__ via BUILD (picklescan advisory)", "allowlisted class, poisoned state")

# Memo confusion (picklescan#14, modelscan#85): the module name goes through the memo before STACK_GLOBAL.
memo = (b"\x80\x04" + b"\x8c\x05posix\x94" + b"\x8c\x0bOrderedDict\x94" + b"0" + b"h\x00" + b"\x8c\x06system\x93"
        + b"\x8c\x02id\x85R.")
write("malicious", "memo_confusion.pkl", memo, "memo confusion (picklescan#14, modelscan#85)", "posix from BINGET")
# A STACK_GLOBAL whose operands are computed: it cannot be resolved, so it must be HIGH.
computed = b"\x80\x04" + b"\x8c\x0bcollections\x8c\x0bOrderedDict\x93)R" + b"\x8c\x06system\x93)R."
write("malicious", "computed_stack_global.pkl", computed, "unresolvable STACK_GLOBAL", "module is the result of a call")
write("malicious", "ext1_registry.pkl", b"\x80\x02\x82\x01)R.", "EXT1 extension-registry import", "")
# Wrong extension, magic bytes decide.
write("malicious", "looks_like.onnx", proto2_reduce("os", "system", "id"), "pickle with an .onnx name", "detection by content")
write("malicious", "weights.safetensors", proto2_reduce("os", "system", "id"), "pickle with a .safetensors name", "")

# Several pickles in one file: the second one is the payload (legacy torch layout, joblib).
benign_first = pickle.dumps({"ok": 1}, protocol=2)
write("malicious", "second_pickle.pt", benign_first + proto2_reduce("os", "system", "id"), "payload in the second pickle", "")

# PyTorch zip with a malicious data.pkl.
def torch_zip(data_pkl, corrupt_crc=False, name="archive/data.pkl", mismatched_local=False):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr(name, data_pkl)
        z.writestr("archive/version", "3\n")
    data = bytearray(buf.getvalue())
    if corrupt_crc:
        # Flip a payload byte after the CRC was computed: the stored CRC no longer matches (modelscan#354 class).
        at = data.find(b"posix")
        data[at] ^= 0x01
    if mismatched_local:
        at = data.find(name.encode())
        data[at + len(name) - 1] ^= 0x01  # first (local header) copy of the name only
    return bytes(data)

write("malicious", "torch_zip_payload.pt", torch_zip(proto2_reduce("os", "system", "id")), "PyTorch zip with a malicious data.pkl", "")
write("malicious", "torch_zip_corrupt_crc.pt", torch_zip(proto2_reduce("posix", "system", "id"), corrupt_crc=True), "corrupt zip entry (modelscan#354)", "CRC mismatch must not fail open")
write("malicious", "torch_zip_local_mismatch.pt", torch_zip(proto2_reduce("os", "system", "id"), mismatched_local=True), "local header differs from central directory", "")
write("malicious", "torch_zip_renamed_entry.pt", torch_zip(proto2_reduce("os", "system", "id"), name="archive/notes.txt"), "payload under a non-pickle entry name", "")
inner = torch_zip(proto2_reduce("os", "system", "id"))
outer = io.BytesIO()
with zipfile.ZipFile(outer, "w") as z:
    z.writestr("nested/model.bin", inner)
write("malicious", "nested_archive.zip", outer.getvalue(), "nested archive", "")
# Encrypted entry: set the encryption flag in both headers.
enc = bytearray(torch_zip(pickle.dumps({"a": 1}, protocol=2)))
for sig in (b"PK\x03\x04", b"PK\x01\x02"):
    i = enc.find(sig)
    while i >= 0:
        off = i + (6 if sig == b"PK\x03\x04" else 8)
        enc[off] |= 1
        i = enc.find(sig, i + 4)
write("malicious", "encrypted_entry.pt", bytes(enc), "password-protected entry", "cannot be inspected")
write("malicious", "truncated.pt", torch_zip(pickle.dumps({"a": 1}, protocol=2))[:-30], "truncated archive", "")
write("malicious", "truncated_pickle.pkl", proto2_reduce("collections", "OrderedDict", "x")[:-3], "truncated pickle", "")
bomb = io.BytesIO()
with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("archive/data/0", b"\0" * (50 * 1024 * 1024))
write("malicious", "zip_bomb.pt", bomb.getvalue(), "archive bomb (ratio)", "")

# NumPy object arrays carrying a payload.
def npy_object(payload):
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header = header + " " * (63 - len(header) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload

write("malicious", "object_array.npy", npy_object(proto2_reduce("os", "system", "id")), "NumPy object array", "")
npz = io.BytesIO()
with zipfile.ZipFile(npz, "w") as z:
    z.writestr("arr_0.npy", npy_object(proto2_reduce("os", "system", "id")))
write("malicious", "object_array.npz", npz.getvalue(), "NumPy .npz with an object array", "")
write("malicious", "joblib_payload.joblib", proto2_reduce("os", "system", "id") + b"\x00" * 64, "joblib with a payload", "")

# Keras: a Lambda layer.
keras = io.BytesIO()
with zipfile.ZipFile(keras, "w") as z:
    z.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Dense", "config": {"name": "d1", "units": 4}},
        {"class_name": "Lambda", "config": {"name": "pwn", "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAA"}}}},
    ]}}))
    z.writestr("metadata.json", "{}")
write("malicious", "lambda_layer.keras", keras.getvalue(), "Keras Lambda layer", "")

# safetensors with out-of-bounds and overlapping offsets.
def safetensors(header, data):
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data

write("malicious", "out_of_bounds.safetensors", safetensors({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 64]}}, b"\0" * 16), "safetensors offsets outside the file", "")
write("malicious", "overlapping.safetensors", safetensors({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12), "safetensors overlapping tensors", "")
write("malicious", "bad_header.safetensors", struct.pack("<Q", 20) + b"{not json at all!!!}", "safetensors header not JSON", "")

# ---- benign ----
for protocol in range(0, 6):
    write("benign", f"state_dict_p{protocol}.pkl", pickle.dumps(collections.OrderedDict([("weight", [1.0, 2.0]), ("bias", (0.5,)), ("meta", {"epochs": 3, "name": "ids"})]), protocol=protocol), f"plain containers, protocol {protocol}", "")
write("benign", "numpy_arrays.pkl", pickle.dumps({"w": np.arange(12, dtype=np.float32).reshape(3, 4), "b": np.zeros(3)}, protocol=2), "NumPy arrays pickled", "numpy _reconstruct, dtype, _codecs.encode")
write("benign", "numpy_arrays_p5.pkl", pickle.dumps({"w": np.arange(12, dtype=np.float64)}, protocol=5), "NumPy arrays protocol 5", "")
buf = io.BytesIO(); np.save(buf, np.arange(10, dtype=np.float32)); write("benign", "floats.npy", buf.getvalue(), "NumPy float array", "")
buf = io.BytesIO(); np.savez(buf, a=np.ones(4), b=np.arange(3)); write("benign", "arrays.npz", buf.getvalue(), "NumPy .npz", "")
write("benign", "weights.safetensors", safetensors({"__metadata__": {"format": "pt"}, "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}, "b": {"dtype": "I64", "shape": [1], "data_offsets": [16, 24]}}, b"\1" * 24), "valid safetensors", "")

# A PyTorch-layout checkpoint as torch.save writes it: fake torch modules so pickle emits the same GLOBALs.
torch_mod = types.ModuleType("torch"); utils_mod = types.ModuleType("torch._utils")
sys.modules["torch"] = torch_mod; sys.modules["torch._utils"] = utils_mod
class FloatStorage: pass
FloatStorage.__module__ = "torch"; torch_mod.FloatStorage = FloatStorage
def _rebuild_tensor_v2(*args): pass
_rebuild_tensor_v2.__module__ = "torch._utils"; utils_mod._rebuild_tensor_v2 = _rebuild_tensor_v2
class Tensor:
    def __reduce_ex__(self, protocol):
        return (_rebuild_tensor_v2, (("storage", FloatStorage, "0", "cpu", 4), 0, (2, 2), (2, 1), False, collections.OrderedDict()))
class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        return obj if isinstance(obj, tuple) and obj and obj[0] == "storage" else None
data = io.BytesIO(); TorchPickler(data, protocol=2).dump(collections.OrderedDict([("fc.weight", Tensor())]))
ckpt = io.BytesIO()
with zipfile.ZipFile(ckpt, "w", zipfile.ZIP_STORED) as z:
    z.writestr("archive/data.pkl", data.getvalue())
    z.writestr("archive/data/0", struct.pack("<4f", 1, 2, 3, 4))
    z.writestr("archive/version", "3\n")
    z.writestr("archive/byteorder", "little")
write("benign", "state_dict.pt", ckpt.getvalue(), "PyTorch zip checkpoint layout", "torch._utils._rebuild_tensor_v2 + FloatStorage + persistent ids")
write("benign", "legacy_torch.pt", pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2) + data.getvalue(), "legacy PyTorch: several pickles", "")
write("benign", "joblib_like.joblib", pickle.dumps({"coef": [1.0, 2.0]}, protocol=4) + np.arange(16, dtype=np.float32).tobytes(), "pickle followed by raw array bytes", "")
keras = io.BytesIO()
with zipfile.ZipFile(keras, "w") as z:
    z.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"name": "d", "units": 13}}]}}))
    weights = io.BytesIO()
    with h5py.File(weights, "w") as h5:
        h5.create_dataset("layers/dense/vars/0", data=np.ones((4, 13), dtype=np.float32))
    z.writestr("model.weights.h5", weights.getvalue())
write("benign", "dense.keras", keras.getvalue(), "Keras model without Lambda", "")
write("benign", "notes.txt", b"column names: duration, bytes, packets\n", "plain text", "")

with open(os.path.join(HERE, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
print(f"{len(manifest)} samples")

# ---- ONNX (needs the onnx package) ----
import onnx
from onnx import TensorProto, helper, numpy_helper

def onnx_bytes(nodes, inits=(), opsets=(("", 17),)):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets], ir_version=8)
    return model.SerializeToString()

def external(location):
    t = numpy_helper.from_array(np.zeros(4, dtype=np.float32), "w")
    t.ClearField("raw_data"); t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", "16")):
        e = t.external_data.add(); e.key, e.value = k, v
    return t

add = [helper.make_node("Add", ["x", "w"], ["y"])]
write("malicious", "external_traversal.onnx", onnx_bytes(add, [external("../../etc/passwd")]), "ONNX external data with .. (CVE-2022-25882)", "")
write("malicious", "external_absolute.onnx", onnx_bytes(add, [external("/etc/shadow")]), "ONNX external data absolute (CVE-2024-27318)", "")
write("malicious", "pyop.onnx", onnx_bytes([helper.make_node("PyOp", ["x"], ["y"], domain="com.microsoft")], opsets=(("", 17), ("com.microsoft", 1))), "ONNX PyOp runs Python", "")
write("benign", "external_ok.onnx", onnx_bytes(add, [external("weights.bin")]), "ONNX with valid external data", "")
write("benign", "plain.onnx", onnx_bytes([helper.make_node("Relu", ["x"], ["y"])]), "ONNX model", "")
with open(os.path.join(HERE, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
print(f"{len(manifest)} samples with ONNX")

# ---- Keras .h5: the model config is the root attribute `model_config` ----

def keras_h5(layers):
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"layers": layers}})
        f.attrs["keras_version"] = "2.15.0"
        f.create_dataset("model_weights/dense/kernel", data=np.ones((4, 2), dtype=np.float32))
    return buf.getvalue()

write("malicious", "lambda_layer.h5", keras_h5([{"class_name": "Dense", "config": {"name": "d"}}, {"class_name": "Lambda", "config": {"name": "pwn", "function": "4wEAAAAA"}}]), "Keras .h5 Lambda layer", "")
write("benign", "dense.h5", keras_h5([{"class_name": "Dense", "config": {"name": "d"}}]), "Keras .h5 without Lambda", "")
with open(os.path.join(HERE, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
print(f"{len(manifest)} samples with HDF5")

# ---- TensorFlow SavedModel, protobuf written by hand (no tensorflow needed) ----
def varint(n):
    out = b""
    while True:
        b = n & 0x7F; n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n: return out
def field(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload
def node(name, op):
    return field(1, name.encode()) + field(2, op.encode())
def saved_model(graph_nodes, function_nodes=()):
    graph = b"".join(field(1, node(f"n{i}", op)) for i, op in enumerate(graph_nodes))
    if function_nodes:
        fn = b"".join(field(3, node(f"f{i}", op)) for i, op in enumerate(function_nodes))
        graph += field(2, field(1, fn))
    return varint(1 << 3 | 0) + varint(1) + field(2, field(2, graph))

os.makedirs(os.path.join(HERE, "malicious", "savedmodel_readfile"), exist_ok=True)
os.makedirs(os.path.join(HERE, "malicious", "savedmodel_pyfunc"), exist_ok=True)
os.makedirs(os.path.join(HERE, "benign", "savedmodel"), exist_ok=True)
write("malicious", "savedmodel_readfile/saved_model.pb", saved_model(["Placeholder", "ReadFile", "MatMul"]), "SavedModel ReadFile op", "")
write("malicious", "savedmodel_pyfunc/saved_model.pb", saved_model(["Placeholder", "StatefulPartitionedCall"], ["PyFunc"]), "SavedModel PyFunc in the function library", "")
write("benign", "savedmodel/saved_model.pb", saved_model(["Placeholder", "MatMul", "SaveV2", "RestoreV2"], ["Identity"]), "SavedModel with checkpoint ops only", "")
with open(os.path.join(HERE, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
print(f"{len(manifest)} samples with SavedModel")
