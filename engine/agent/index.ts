/** Public API of the agent runtime: providers, the loop, sessions, output formats. */
export * from './types.js';
export { AgentConfigError, ProviderError, type ProviderErrorKind } from './errors.js';
export { parseModelSpec, chooseModel, loadConfigFile, configPath, type ModelSpec, type AgentConfigFile } from './config.js';
export {
  createProvider,
  AnthropicProvider,
  OpenAIProvider,
  ScriptProvider,
  loadScript,
  parseScript,
  PRICES,
  priceOf,
  costOf,
  KNOWN_PROVIDERS,
  LOCAL_SERVERS,
  GEMINI_OPENAI_BASE_URL,
  type Provider,
  type ProviderEvent,
  type ProviderRequest,
  type RetryOptions,
  type CreateProviderOptions,
} from './providers/index.js';
export {
  runAgent,
  toolResultBlock,
  DEFAULT_MAX_TURNS,
  type AgentEvent,
  type LoopOptions,
  type LoopState,
  type RunResult,
  type RunSubtype,
  type StopHookResult,
  type UserPromptHookResult,
} from './loop.js';
export {
  SessionStore,
  SessionError,
  defaultSessionsPath,
  toMessages,
  type SessionInfo,
  type StoredMessage,
  type StoredToolCall,
  type ToolCallRecord,
} from './sessions.js';
export { exportSession, EXPORT_FORMATS, type ExportFormat } from './export.js';
export { streamJsonLines, initJson, resultJson, textOutput, exitCodeFor, OUTPUT_FORMATS, type OutputFormat, type InitInfo } from './output.js';
export { createPipelineRunner, type AgentRunner, type RunnerFactory, type RunnerOptions } from './runner-factory.js';
