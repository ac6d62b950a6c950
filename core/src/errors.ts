import { defineError } from '@modelplane/plugin-sdk';

/**
 * Every coded error the core raises. Status codes matter for the ones that reach HTTP clients;
 * boot-time errors use 500 and are printed by the CLI with their code.
 */
export const Errors = {
  // configuration
  ConfigNotFound: defineError('MP_ERR_CONFIG_NOT_FOUND', 500),
  ConfigSyntax: defineError('MP_ERR_CONFIG_SYNTAX', 500),
  ConfigInvalid: defineError('MP_ERR_CONFIG_INVALID', 500),

  // plugin loading
  PluginNotInstalled: defineError('MP_ERR_PLUGIN_NOT_INSTALLED', 500),
  PluginImportFailed: defineError('MP_ERR_PLUGIN_IMPORT_FAILED', 500),
  NotAPlugin: defineError('MP_ERR_NOT_A_PLUGIN', 500),
  PluginApiIncompatible: defineError('MP_ERR_PLUGIN_API_INCOMPATIBLE', 500),
  PluginOptionsInvalid: defineError('MP_ERR_PLUGIN_OPTIONS_INVALID', 500),
  PluginSetupFailed: defineError('MP_ERR_PLUGIN_SETUP_FAILED', 500),
  PluginSetupTimeout: defineError('MP_ERR_PLUGIN_SETUP_TIMEOUT', 500),
  PluginDuplicate: defineError('MP_ERR_PLUGIN_DUPLICATE', 500),
  PluginHookFailed: defineError('MP_ERR_PLUGIN_HOOK_FAILED', 500),
  // plugin installation (`modelplane plugins add`)
  PluginNotFound: defineError('MP_ERR_PLUGIN_NOT_FOUND', 404),
  PluginPeerConflict: defineError('MP_ERR_PLUGIN_PEER_CONFLICT', 409),
  NpmFailed: defineError('MP_ERR_NPM_FAILED', 500),
  DuplicateContribution: defineError('MP_ERR_DUPLICATE_CONTRIBUTION', 500),
  InvalidContribution: defineError('MP_ERR_INVALID_CONTRIBUTION', 500),

  // access control
  Unauthenticated: defineError('MP_ERR_UNAUTHENTICATED', 401),
  Forbidden: defineError('MP_ERR_FORBIDDEN', 403),
  RateLimited: defineError('MP_ERR_RATE_LIMITED', 429),
  RouteWithoutScope: defineError('MP_ERR_ROUTE_WITHOUT_SCOPE', 500),

  // registry
  InvalidName: defineError('MP_ERR_INVALID_NAME', 400),
  InvalidVersion: defineError('MP_ERR_INVALID_VERSION', 400),
  InvalidManifest: defineError('MP_ERR_INVALID_MANIFEST', 400),
  InvalidMetadata: defineError('MP_ERR_INVALID_METADATA', 400),
  ModelNotFound: defineError('MP_ERR_MODEL_NOT_FOUND', 404),
  VersionNotFound: defineError('MP_ERR_VERSION_NOT_FOUND', 404),
  AliasNotFound: defineError('MP_ERR_ALIAS_NOT_FOUND', 404),
  FileNotFound: defineError('MP_ERR_FILE_NOT_FOUND', 404),
  VersionConflict: defineError('MP_ERR_VERSION_CONFLICT', 409),
  InvalidTransition: defineError('MP_ERR_INVALID_STATUS_TRANSITION', 409),
  ModelExists: defineError('MP_ERR_MODEL_EXISTS', 409),

  // serving
  ModelNotLoaded: defineError('MP_ERR_MODEL_NOT_LOADED', 404),
  ModelNotReady: defineError('MP_ERR_MODEL_NOT_READY', 503),
  NoRuntime: defineError('MP_ERR_NO_RUNTIME', 422),
  NotServable: defineError('MP_ERR_NOT_SERVABLE', 409),
  LoadFailed: defineError('MP_ERR_LOAD_FAILED', 500),

  // deployments
  DeploymentNotFound: defineError('MP_ERR_DEPLOYMENT_NOT_FOUND', 404),
  DeploymentExists: defineError('MP_ERR_DEPLOYMENT_EXISTS', 409),
  RolloutConflict: defineError('MP_ERR_ROLLOUT_CONFLICT', 409),
  ValidationFailed: defineError('MP_ERR_VALIDATION_FAILED', 422),
  SourceNotFound: defineError('MP_ERR_SOURCE_NOT_FOUND', 404),

  // Gateway
  BudgetExceeded: defineError('MP_ERR_BUDGET_EXCEEDED', 429),
  NoEligibleModel: defineError('MP_ERR_NO_ELIGIBLE_MODEL', 422),
  ModelUnpriced: defineError('MP_ERR_MODEL_UNPRICED', 422),
  NotAnLlm: defineError('MP_ERR_NOT_AN_LLM', 404),
  NoProvider: defineError('MP_ERR_NO_PROVIDER', 503),
  GuardBlocked: defineError('MP_ERR_GUARD_BLOCKED', 400),
  UpstreamFailed: defineError('MP_ERR_UPSTREAM_FAILED', 502),
  UpstreamRateLimited: defineError('MP_ERR_UPSTREAM_RATE_LIMITED', 429),
  UpstreamTimeout: defineError('MP_ERR_UPSTREAM_TIMEOUT', 504),
  UpstreamRejected: defineError('MP_ERR_UPSTREAM_REJECTED', 400),

  // HTTP
  BadRequest: defineError('MP_ERR_BAD_REQUEST', 400),
  NotFound: defineError('MP_ERR_NOT_FOUND', 404),
  RouteNotFound: defineError('MP_ERR_ROUTE_NOT_FOUND', 404),
  PayloadTooLarge: defineError('MP_ERR_PAYLOAD_TOO_LARGE', 413),
  UnsupportedMediaType: defineError('MP_ERR_UNSUPPORTED_MEDIA_TYPE', 415),
  Internal: defineError('MP_ERR_INTERNAL', 500),
  ShuttingDown: defineError('MP_ERR_SHUTTING_DOWN', 503),
  ListenFailed: defineError('MP_ERR_LISTEN_FAILED', 500),
  DataDirLocked: defineError('MP_ERR_DATA_DIR_LOCKED', 500),
  StoreUnreadable: defineError('MP_ERR_STORE_UNREADABLE', 500),
} as const;
