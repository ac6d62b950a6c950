/** Store extension points: metadata and artifact stores. */
import type { Contribution } from './contribution.ts';

/** Factories for the stores, so the core opens them with its own data directory at boot. */
export interface StoreContext {
  dataDir: string;
}

export interface MetadataStoreProvider extends Contribution {
  open(context: StoreContext): Promise<unknown>;
}

export interface ArtifactStoreProvider extends Contribution {
  open(context: StoreContext): Promise<unknown>;
}
