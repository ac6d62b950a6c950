import { posix } from 'node:path';
import { readAll, type RuntimeLoadRequest, UnservableModel } from '@modelplane/plugin-sdk';

export type ModelFormat = 'layers-model' | 'graph-model';

/** A TF.js model read from the version's files: what `tf.io.fromMemory` takes, plus where it came from. */
export interface TfjsArtifacts {
  format: ModelFormat;
  modelFile: string;
  weightFiles: string[];
  /** model.json with `weightSpecs` (the manifest's weights, in order) and `weightData` (its shards, concatenated). */
  artifacts: Record<string, unknown> & { weightSpecs: unknown[]; weightData: ArrayBuffer };
}

const label = (request: RuntimeLoadRequest) => `${request.model}@${request.version}`;

/** The SavedModel folder of a version (where `saved_model.pb` is), if it has one. */
export function savedModelDir(request: RuntimeLoadRequest): string | undefined {
  const pb = request.files.find((f) => posix.basename(f.path) === 'saved_model.pb');
  return pb ? posix.dirname(pb.path) : undefined;
}

/** Which file is the TF.js model.json: the option, else the only file called model.json. */
export function pickModelFile(request: RuntimeLoadRequest, modelFile: string | undefined): string | undefined {
  if (modelFile !== undefined) {
    if (!request.files.some((f) => f.path === modelFile)) throw new UnservableModel(`${label(request)} has no file "${modelFile}" (option modelFile)`);
    return modelFile;
  }
  const candidates = request.files.filter((f) => posix.basename(f.path) === 'model.json');
  if (candidates.length > 1) {
    throw new UnservableModel(`${label(request)} has ${candidates.length} model.json files (${candidates.map((f) => f.path).join(', ')}); set the modelFile option to pick one`);
  }
  return candidates[0]?.path;
}

/** A weight shard path from model.json, resolved against its folder to one of the version's own files. */
function resolveShard(modelFile: string, path: unknown, files: ReadonlySet<string>): string {
  const resolved = typeof path === 'string' && !path.startsWith('/') && !path.includes('\\') ? posix.normalize(posix.join(posix.dirname(modelFile), path)) : undefined;
  if (resolved === undefined || resolved.startsWith('../') || !files.has(resolved)) {
    throw new UnservableModel(`${modelFile}: weight file ${JSON.stringify(path)} is not one of this version's files; upload the shards with model.json`, {
      details: { modelFile, path },
    });
  }
  return resolved;
}

function formatOf(modelFile: string, json: Record<string, unknown>): ModelFormat {
  if (json.format === 'layers-model' || json.format === 'graph-model') return json.format;
  // Older converters wrote no `format`: a Keras topology has a class name, a GraphDef has nodes.
  const topology = json.modelTopology as Record<string, unknown> | undefined;
  if (topology && ('class_name' in topology || 'model_config' in topology)) return 'layers-model';
  if (topology && 'node' in topology) return 'graph-model';
  throw new UnservableModel(`${modelFile} is not a TF.js model.json (no layers-model or graph-model topology)`);
}

/** Reads model.json and its weight shards (in manifest order) from the version's files. */
export async function readTfjsModel(request: RuntimeLoadRequest, modelFile: string): Promise<TfjsArtifacts> {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse((await readAll(request.openFile(modelFile), request.signal)).toString('utf8')) as Record<string, unknown>;
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new UnservableModel(`${modelFile} is not readable JSON: ${(error as Error).message}`, { cause: error });
  }
  const format = formatOf(modelFile, json);
  const manifest = (json.weightsManifest ?? []) as Array<{ paths?: unknown[]; weights?: unknown[] }>;
  if (!Array.isArray(manifest)) throw new UnservableModel(`${modelFile}: weightsManifest must be a list`);
  const files = new Set(request.files.map((f) => f.path));
  const weightFiles = manifest.flatMap((group) => (group.paths ?? []).map((path) => resolveShard(modelFile, path, files)));
  const shards: Buffer[] = [];
  for (const path of weightFiles) shards.push(await readAll(request.openFile(path), request.signal));
  const data = Buffer.concat(shards);
  return {
    format,
    modelFile,
    weightFiles,
    artifacts: {
      ...json,
      weightSpecs: manifest.flatMap((group) => group.weights ?? []),
      weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer,
    },
  };
}

/** What to do with a version that holds no TF.js model: say how to make one. */
export function conversionHint(request: RuntimeLoadRequest, backendChoice: string): Error {
  const saved = savedModelDir(request);
  const keras = request.files.find((f) => /\.(h5|keras)$/i.test(f.path));
  const convert = 'pip install tensorflowjs && tensorflowjs_converter';
  if (saved !== undefined) {
    return new UnservableModel(
      `${label(request)} is a TensorFlow SavedModel, which only the native backends (@tensorflow/tfjs-node, -node-gpu) can run, and this server runs TF.js on ${backendChoice}. ` +
        `Convert it to a TF.js GraphModel and register that instead: ${convert} --input_format=tf_saved_model --signature_name=serving_default --saved_model_tags=serve ./${saved || '.'} ./tfjs_model`,
    );
  }
  if (keras) {
    return new UnservableModel(
      `${label(request)} holds a Keras file (${keras.path}), which TF.js cannot read directly. Convert it to a TF.js LayersModel and register that instead: ${convert} --input_format=keras ${keras.path} ./tfjs_model`,
    );
  }
  return new UnservableModel(`${label(request)} has no TF.js model.json (and no SavedModel); register the folder tensorflowjs_converter writes`);
}
