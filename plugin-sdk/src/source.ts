/** Source extension point: where the update manager discovers new versions. */
import type { Contribution } from './contribution.ts';

export interface ModelSource extends Contribution {
  /** Lists versions the source offers for a model it knows. */
  listVersions(model: string): Promise<Array<{ version: string; [field: string]: unknown }>>;
}
