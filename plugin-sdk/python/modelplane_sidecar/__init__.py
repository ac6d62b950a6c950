"""Python side of the Modelplane sidecar protocol (the Node side and the frame layout: plugin-sdk/src/sidecar/framing.ts).

A runtime's entry module imports its heavy libraries first, then calls ``serve(load)``. ``load(header, payload)``
builds the model from a declarative spec and weights bytes and returns an object with ``inputs`` and ``outputs``
(lists of ``{"name", "datatype", "shape"}``), ``describe()`` (a dict) and ``infer(inputs, outputs)`` mapping input
names to numpy arrays and returning the wanted outputs as numpy arrays.

Requests run on the thread that reads them: handing each to a worker thread cost a cross-thread wake-up per request
(~0.6 ms on a small VM), more than the framing. A heartbeat thread sends an unsolicited frame (request id 0) every
HEARTBEAT_S, so a long computation is not mistaken for a hung process, while a process that is really stuck
(SIGSTOP, a deadlock that holds the GIL) goes silent and is replaced. Pings are still answered, between requests.
"""
import json
import os
import struct
import sys
import threading
import time
import traceback

import numpy as np

LOAD, INFER, PING, SHUTDOWN, OK, ERROR = 1, 2, 3, 4, 0x80, 0x81
HEARTBEAT_S = 0.25
PREFIX = struct.Struct("<IIBI")

DTYPES = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
}
DATATYPE_OF = {v: k for k, v in DTYPES.items()}


class BadInput(Exception):
    """The request is wrong (the client's 400), as opposed to the model failing (a 500)."""


def decode_tensors(specs, payload):
    arrays, offset = {}, 0
    for spec in specs:
        dtype = DTYPES.get(spec["datatype"])
        if dtype is None:
            raise BadInput(f'tensor "{spec["name"]}": datatype {spec["datatype"]} is not supported by this sidecar')
        size = spec["bytes"]
        arrays[spec["name"]] = np.frombuffer(payload, dtype=dtype, count=size // dtype.itemsize, offset=offset).reshape(spec["shape"])
        offset += size
    return arrays


def encode_tensors(named):
    specs, parts = [], []
    for name, array in named.items():
        array = np.ascontiguousarray(array)
        datatype = DATATYPE_OF.get(array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype)
        if datatype is None:
            raise TypeError(f'output "{name}" has dtype {array.dtype}, which the protocol does not carry')
        specs.append({"name": name, "datatype": datatype, "shape": list(array.shape), "bytes": array.nbytes})
        parts.append(memoryview(array).cast("B"))
    return specs, parts


class Channel:
    def __init__(self):
        # The protocol owns the real stdout; fd 1 is pointed at stderr so that a library's print() or banner can never
        # corrupt the frame stream.
        self.out = os.fdopen(os.dup(1), "wb")
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        self.inp = sys.stdin.buffer
        self.lock = threading.Lock()

    def read(self):
        prefix = self.inp.read(PREFIX.size)
        if len(prefix) < PREFIX.size:
            return None
        length, rid, op, header_length = PREFIX.unpack(prefix)
        body = self.inp.read(length - (PREFIX.size - 4))
        header = json.loads(body[:header_length]) if header_length else {}
        return rid, op, header, memoryview(body)[header_length:]

    def send(self, rid, op, header, parts=()):
        data = json.dumps(header).encode()
        length = PREFIX.size - 4 + len(data) + sum(p.nbytes for p in parts)
        with self.lock:
            self.out.write(PREFIX.pack(length, rid, op, len(data)))
            self.out.write(data)
            for part in parts:
                self.out.write(part)
            self.out.flush()


def serve(load):
    channel = Channel()
    state = {"model": None}

    def handle(rid, op, header, payload):
        try:
            if op == LOAD:
                model = load(header, bytes(payload))
                state["model"] = model
                channel.send(rid, OK, {"inputs": model.inputs, "outputs": model.outputs, **model.describe()})
            elif op == INFER:
                model = state["model"]
                if model is None:
                    raise RuntimeError("no model is loaded")
                inputs = decode_tensors(header["inputs"], payload)
                started = time.perf_counter()
                result = model.infer(inputs, header["outputs"])
                # The model's own time, so the caller can tell the protocol's share from the model's.
                compute_ms = (time.perf_counter() - started) * 1000
                specs, parts = encode_tensors({name: result[name] for name in header["outputs"]})
                channel.send(rid, OK, {"outputs": specs, "compute_ms": compute_ms}, parts)
            elif op == SHUTDOWN:
                channel.send(rid, OK, {})
                channel.out.flush()
                os._exit(0)
            else:
                raise BadInput(f"unknown op {op}")
        except BadInput as error:
            channel.send(rid, ERROR, {"kind": "bad_input", "message": str(error)})
        except Exception as error:  # noqa: BLE001 - every failure is reported to the caller, the process lives on
            traceback.print_exc()
            channel.send(rid, ERROR, {"kind": "internal", "message": f"{type(error).__name__}: {error}"})

    def heartbeat():
        while True:
            channel.send(0, OK, {"heartbeat": True})
            time.sleep(HEARTBEAT_S)

    threading.Thread(target=heartbeat, daemon=True).start()
    while True:
        frame = channel.read()
        if frame is None:  # the parent closed our stdin: it is gone or wants us gone
            os._exit(0)
        rid, op, header, payload = frame
        if op == PING:
            channel.send(rid, OK, {})
        else:
            handle(rid, op, header, payload)


def expect_weights(weights, shapes, label):
    """Checks that a safetensors file holds exactly the named tensors with these shapes; the message names the first misfit."""
    missing = sorted(set(shapes) - set(weights))
    extra = sorted(set(weights) - set(shapes))
    if missing or extra:
        raise ValueError(f"{label}: weights missing {missing} / unexpected {extra}")
    for name, shape in shapes.items():
        if tuple(weights[name].shape) != tuple(shape):
            raise ValueError(f"{label}: weight {name} has shape {tuple(weights[name].shape)}, the spec needs {tuple(shape)}")
