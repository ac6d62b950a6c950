"""A minimal MLServer runtime serving an ONNX model with onnxruntime, the baseline of bench/inference.ts (c)."""
import numpy as np
import onnxruntime as ort
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse


class OnnxModel(MLModel):
    async def load(self) -> bool:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(self.settings.parameters.uri, options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        features = NumpyCodec.decode_input(payload.inputs[0]).astype(np.float32)
        (probabilities,) = self.session.run(None, {self.input_name: features})
        return InferenceResponse(model_name=self.name, outputs=[NumpyCodec.encode_output("probabilities", probabilities)])
