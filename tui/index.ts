/** The TUI's entry point for the CLI: `icode` with no arguments in a terminal. */
export { startTui, type TuiOptions } from './app.js';
