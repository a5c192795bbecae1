/** Every benchmark scenario, by name. */
import { auditScenario } from './scenarios/audit.js';
import { checkpointScenario } from './scenarios/checkpoints.js';
import { fsPoolScenario } from './scenarios/fs.js';
import { hooksScenario } from './scenarios/hooks.js';
import { policyFileScenario, policyShellScenario } from './scenarios/policy.js';
import { gateScenario } from './scenarios/gate.js';
import { shellScenario } from './scenarios/shell.js';
import { toolsReadScenario } from './scenarios/tools-read.js';
import type { Scenario } from './types.js';

export const SCENARIOS: readonly Scenario[] = [policyFileScenario, policyShellScenario, auditScenario, fsPoolScenario, toolsReadScenario, shellScenario, hooksScenario, checkpointScenario, gateScenario];
