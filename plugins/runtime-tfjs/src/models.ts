import type { Datatype, TensorSpec } from '@modelplane/plugin-sdk';
import { UnservableModel } from '@modelplane/plugin-sdk';
import type { GraphModel, LayersModel, NamedTensorMap, Tensor } from '@tensorflow/tfjs';
import type { SavedModel, SignatureDef, Tf } from './backends.ts';

/** TF.js dtypes the Open Inference Protocol carries; TF.js has no 8/16/64-bit integers or FP16/FP64. */
export const FROM_TFJS: Readonly<Record<string, Datatype>> = { float32: 'FP32', int32: 'INT32', bool: 'BOOL', string: 'BYTES' };
export const TO_TFJS: Readonly<Partial<Record<Datatype, 'float32' | 'int32' | 'bool' | 'string'>>> = { FP32: 'float32', INT32: 'int32', BOOL: 'bool', BYTES: 'string' };

/** One loaded model, whatever its format: named inputs in, the wanted outputs out (in `wanted` order). */
export interface Executable {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** Whether `run` answers a promise (TF.js' async executor, for control flow); sync runs happen inside `tf.tidy`. */
  async: boolean;
  run(feeds: NamedTensorMap, wanted: readonly string[]): Tensor[] | Promise<Tensor[]>;
  dispose(): void;
}

function specOf(modelFile: string, role: string, name: string, dtype: string | undefined, shape: ReadonlyArray<number | null> | undefined): TensorSpec {
  const datatype = dtype === undefined ? undefined : FROM_TFJS[dtype];
  if (!datatype) throw new UnservableModel(`${modelFile}: ${role} "${name}" is ${dtype ?? 'of unknown type'}, which this runtime cannot carry over the Open Inference Protocol`);
  if (!shape) throw new UnservableModel(`${modelFile}: ${role} "${name}" has no known rank`);
  return { name, datatype, shape: shape.map((d) => (d === null || d < 0 ? -1 : d)) };
}

const asList = (value: Tensor | Tensor[] | NamedTensorMap): Tensor[] => (Array.isArray(value) ? value : [value as Tensor]);

export function layersExecutable(model: LayersModel, modelFile: string): Executable {
  // Input and output names are their layers' names: what Keras calls them (`features`, `probabilities`).
  const inputs = model.inputs.map((t) => specOf(modelFile, 'input', t.sourceLayer.name, t.dtype, t.shape));
  const outputs = model.outputs.map((t) => specOf(modelFile, 'output', t.sourceLayer.name, t.dtype, t.shape));
  const index = new Map(outputs.map((o, i) => [o.name, i]));
  return {
    inputs,
    outputs,
    run: (feeds, wanted) => {
      const all = asList(model.predict(inputs.map((s) => feeds[s.name]!)));
      return wanted.map((name) => all[index.get(name)!]!);
    },
    async: false,
    dispose: () => model.dispose(),
  };
}

/**
 * A GraphModel names its tensors by signature key where model.json has a signature, else by graph node. Placeholders
 * declare the inputs' shapes; outputs declare nothing reliable, so they are found by running the model on zeros at
 * batch 1 and 2: a dimension that follows the batch is dynamic.
 */
export async function graphExecutable(tf: Tf, model: GraphModel, modelFile: string): Promise<Executable> {
  const inputs = model.inputs.map((info, i) => specOf(modelFile, 'input', model.inputNodes[i] ?? info.name, info.dtype, info.shape));
  const names = model.outputNodes;
  let needsAsync = false;
  const run = (feeds: NamedTensorMap, wanted: readonly string[]): Tensor[] | Promise<Tensor[]> => {
    if (!needsAsync) {
      try {
        return asList(model.execute(feeds, [...wanted]));
      } catch (error) {
        // Control flow and dynamic-shape ops only run on the async executor; TF.js says so in its message.
        if (!/executeAsync/.test((error as Error).message)) throw error;
        needsAsync = true;
      }
    }
    return model.executeAsync(feeds, [...wanted]).then(asList);
  };
  const probe = async (rows: number) => {
    const feeds = Object.fromEntries(inputs.map((s) => [s.name, tf.zeros(s.shape.map((d, i) => (d === -1 ? (i === 0 ? rows : 1) : d)), TO_TFJS[s.datatype])]));
    try {
      const outs = await run(feeds, names);
      const shapes = outs.map((t) => ({ dtype: t.dtype as string, shape: t.shape }));
      tf.dispose(outs);
      return shapes;
    } finally {
      tf.dispose(Object.values(feeds));
    }
  };
  const one = await probe(1);
  const two = inputs.every((s) => s.shape[0] === -1) ? await probe(2) : one;
  const outputs = names.map((name, i) => specOf(modelFile, 'output', name, one[i]!.dtype, one[i]!.shape.map((d, k) => (d === two[i]!.shape[k] ? d : -1))));
  return { inputs, outputs, run, async: needsAsync, dispose: () => model.dispose() };
}

/** tfjs-node reports SavedModel dimensions as protobuf `Dim` messages (-1: unknown); plain numbers are taken as is. */
const dimsOf = (shape: unknown[] | undefined) => shape?.map((d) => (typeof d === 'number' ? d : Number((d as { getSize?(): unknown }).getSize?.() ?? -1)));

/** A SavedModel through tfjs-node's TensorFlow session; its tensors are named by their signature keys. */
export function savedModelExecutable(model: SavedModel, signature: SignatureDef, modelFile: string): Executable {
  const inputs = Object.entries(signature.inputs).map(([name, info]) => specOf(modelFile, 'input', name, info.dtype, dimsOf(info.shape)));
  const outputs = Object.entries(signature.outputs).map(([name, info]) => specOf(modelFile, 'output', name, info.dtype, dimsOf(info.shape)));
  return {
    inputs,
    outputs,
    run: (feeds, wanted) => {
      const result = model.predict(feeds) as Tensor | Tensor[] | NamedTensorMap;
      if (Array.isArray(result)) return wanted.map((name) => result[outputs.findIndex((o) => o.name === name)]!);
      if ((result as Tensor).dataId !== undefined) return [result as Tensor];
      return wanted.map((name) => (result as NamedTensorMap)[name]!);
    },
    async: false,
    dispose: () => model.dispose(),
  };
}
