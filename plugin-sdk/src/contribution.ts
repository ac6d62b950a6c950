/** Every contribution carries an `id` unique within its extension point. */
export interface Contribution {
  /** Unique within its extension point; two plugins registering the same id is a boot error. */
  readonly id: string;
}
