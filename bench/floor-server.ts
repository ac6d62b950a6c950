/**
 * The floor for bench/inference.ts: a bare fastify route that parses the same V2 JSON and calls the same
 * onnxruntime session, with nothing else (no auth, no batching, no validation, no metrics).
 *   node bench/floor-server.ts <model.onnx> <port>
 */
import Fastify from 'fastify';
import * as ort from 'onnxruntime-node';

const [modelPath, port] = process.argv.slice(2);
const session = await ort.InferenceSession.create(modelPath!, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
const app = Fastify({ bodyLimit: 64 * 1024 * 1024 });
app.post('/infer', async (request) => {
  const body = request.body as { inputs: Array<{ name: string; shape: number[]; data: number[] }> };
  const feeds = Object.fromEntries(body.inputs.map((i) => [i.name, new ort.Tensor('float32', Float32Array.from(i.data.flat(Infinity) as number[]), i.shape)]));
  const results = await session.run(feeds);
  return {
    model_name: 'floor',
    outputs: Object.entries(results).map(([name, t]) => ({ name, datatype: 'FP32', shape: t.dims, data: Array.from(t.data as Float32Array) })),
  };
});
await app.listen({ port: Number(port), host: '127.0.0.1' });
process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
process.on('SIGTERM', () => process.exit(0));
