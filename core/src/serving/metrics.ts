import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const SECONDS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The server's Prometheus metrics. Inference metrics are labelled by model and version, as Triton labels its own,
 * so dashboards can compare a canary with the stable version.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'modelplane_http_requests_total',
    help: 'HTTP requests by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly inferRequests = new Counter({
    name: 'modelplane_inference_requests_total',
    help: 'Inference requests by model, version and outcome (success | failure)',
    labelNames: ['model', 'version', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly requestDuration = this.#histogram('modelplane_inference_request_duration_seconds', 'Time from request received to response ready');
  readonly queueDuration = this.#histogram('modelplane_inference_queue_duration_seconds', 'Time a request waited in the batch queue');
  readonly computeDuration = this.#histogram('modelplane_inference_compute_duration_seconds', 'Time the runtime spent on the batch that held the request');
  readonly overheadDuration = this.#histogram(
    'modelplane_inference_server_overhead_seconds',
    'Time in the server that was not model compute or queueing: parsing, validation, batching, serialisation',
  );
  readonly batchSize = new Histogram({
    name: 'modelplane_inference_batch_size',
    help: 'Rows per executed batch',
    labelNames: ['model', 'version'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'modelplane_inference_queue_depth',
    help: 'Requests waiting in the batch queue',
    labelNames: ['model', 'version'] as const,
    registers: [this.registry],
  });

  readonly #bound = new Map<string, ModelMetrics>();
  readonly #httpBound = new Map<string, { inc(): void }>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'modelplane_' });
  }

  /** Counts one HTTP response; each method × route × status series is bound once, as for models. */
  countHttp(method: string, route: string, status: number): void {
    const key = `${method} ${route} ${status}`;
    let counter = this.#httpBound.get(key);
    if (!counter) {
      counter = this.httpRequests.labels(method, route, String(status));
      this.#httpBound.set(key, counter);
    }
    counter.inc();
  }

  /** One model version's series, bound once: observing through them skips hashing the label set on every request. */
  forModel(model: string, version: string): ModelMetrics {
    const key = `${model}\u0000${version}`;
    let bound = this.#bound.get(key);
    if (!bound) {
      bound = {
        succeeded: this.inferRequests.labels(model, version, 'success'),
        failed: this.inferRequests.labels(model, version, 'failure'),
        request: this.requestDuration.labels(model, version),
        queue: this.queueDuration.labels(model, version),
        compute: this.computeDuration.labels(model, version),
        overhead: this.overheadDuration.labels(model, version),
        batchSize: this.batchSize.labels(model, version),
        queueDepth: this.queueDepth.labels(model, version),
      };
      this.#bound.set(key, bound);
    }
    return bound;
  }

  /** After a version is unloaded: its queue depth is no longer a live series. */
  forgetModel(model: string, version: string): void {
    this.#bound.delete(`${model}\u0000${version}`);
    this.queueDepth.remove({ model, version });
  }

  #histogram(name: string, help: string) {
    return new Histogram({ name, help, labelNames: ['model', 'version'] as const, buckets: SECONDS, registers: [this.registry] });
  }
}

export interface ModelMetrics {
  succeeded: { inc(): void };
  failed: { inc(): void };
  request: { observe(seconds: number): void };
  queue: { observe(seconds: number): void };
  compute: { observe(seconds: number): void };
  overhead: { observe(seconds: number): void };
  batchSize: { observe(rows: number): void };
  queueDepth: { set(depth: number): void };
}
