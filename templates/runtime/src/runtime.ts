import { text } from 'node:stream/consumers';
import {
  checkInferRequest,
  InstanceUnavailable,
  type ModelInstance,
  type RuntimeLoadRequest,
  type RuntimePlugin,
  UnservableModel,
  z,
} from '@modelplane/plugin-sdk';

/**
 * The model format this runtime serves: a linear layer `y = x · W + b` stored as `model.json`. Replace it with your
 * framework; the shape of the code (read files → build a signature → check requests → compute → dispose) stays.
 */
const LinearModel = z.object({
  weights: z.array(z.array(z.number()).min(1)).min(1),
  bias: z.array(z.number()),
});

export const FRAMEWORK = 'template-runtime';
const MAX_BATCH_SIZE = 64;

async function readModel(request: RuntimeLoadRequest): Promise<z.infer<typeof LinearModel>> {
  if (!request.files.some((f) => f.path === 'model.json')) {
    throw new UnservableModel(`${request.model}@${request.version} has no model.json (files: ${request.files.map((f) => f.path).join(', ')})`);
  }
  const parsed = LinearModel.safeParse(JSON.parse(await text(request.openFile('model.json'))));
  if (!parsed.success) throw new UnservableModel(`model.json is not a linear model: ${parsed.error.issues[0]?.message}`);
  const { weights, bias } = parsed.data;
  if (weights.some((row) => row.length !== bias.length)) {
    throw new UnservableModel(`every row of weights needs ${bias.length} columns, one per bias term`);
  }
  return parsed.data;
}

export const runtime: RuntimePlugin = {
  id: 'template-runtime',
  frameworks: [FRAMEWORK],
  devices: ['cpu'],
  async load(request) {
    const { weights, bias } = await readModel(request);
    const inputs = weights.length;
    const outputs = bias.length;
    const signature = {
      inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [-1, inputs] }],
      outputs: [{ name: 'y', datatype: 'FP32' as const, shape: [-1, outputs] }],
    };
    let disposed = false;
    const instance: ModelInstance = {
      signature,
      maxBatchSize: MAX_BATCH_SIZE,
      async infer(req, signal) {
        if (disposed) throw new InstanceUnavailable(`${request.model}@${request.version} was unloaded`);
        // Refuses unknown, missing or misshapen tensors with a coded 400 naming the tensor.
        checkInferRequest(signature, req);
        signal?.throwIfAborted();
        const x = req.inputs[0]!;
        const rows = x.shape[0]!;
        const y = new Float32Array(rows * outputs);
        for (let r = 0; r < rows; r++) {
          for (let o = 0; o < outputs; o++) {
            let sum = bias[o]!;
            for (let i = 0; i < inputs; i++) sum += Number(x.data[r * inputs + i]) * weights[i]![o]!;
            y[r * outputs + o] = sum;
          }
        }
        return { outputs: [{ name: 'y', datatype: 'FP32', shape: [rows, outputs], data: y }] };
      },
      async health() {
        return { ready: !disposed };
      },
      // Inference here is synchronous, so nothing is in flight once dispose runs; a real runtime waits for its calls.
      async dispose() {
        disposed = true;
      },
      describe: () => ({ inputs, outputs, device: 'cpu' }),
    };
    return instance;
  },
};
