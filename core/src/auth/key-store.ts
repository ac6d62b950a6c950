import type { ApiKeyRecord, MetadataStore } from '@modelplane/plugin-sdk';

export type { ApiKeyRecord };

/** The slice of the metadata store access control uses; looked up on every request, so revocation is immediate. */
export type ApiKeyStore = Pick<MetadataStore, 'insertKey' | 'getKey' | 'listKeys' | 'revokeKey' | 'countActiveAdminKeys' | 'transaction'>;
