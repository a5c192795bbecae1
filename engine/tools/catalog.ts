/**
 * Compatibility names for the tool registry (engine/tools/registry.ts): `ToolCatalog` is the registry,
 * `BUILTIN_TOOL_SPECS` the built-in definitions. New code uses the registry's names.
 */
export { ToolRegistry as ToolCatalog } from './registry.js';
export { BUILTIN_TOOLS as BUILTIN_TOOL_SPECS } from './builtin/index.js';
export type { ToolDefinition as ToolSpec, ToolKind } from './definition.js';
