/** The shape every benchmark scenario reports (also the JSON written by `icode bench`). */

export interface BaselineResult {
  name: string;
  p50_us: number;
  ops_per_s: number;
}

export interface ScenarioResult {
  name: string;
  p50_us: number;
  p99_us: number;
  ops_per_s: number;
  baseline: BaselineResult;
  /** How many times faster icode is than the baseline (ops/s ÷ baseline ops/s); below 1 = slower. */
  ratio: number;
  /** Scenario-specific figures (goals, variants). */
  extra?: Record<string, unknown>;
  /** Lines printed under the table (goal met or missed, the durability mode…). */
  notes?: string[];
}

export interface ScenarioContext {
  /** Suggested number of measured operations (scenarios may scale it to their cost). */
  iterations: number;
  /** Advance the progress bar by n (default 1) of `iterations`. */
  tick(n?: number): void;
}

export interface Scenario {
  name: string;
  description: string;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}
