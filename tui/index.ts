/** The TUI's entry point for the CLI: `icode` with no arguments in a terminal. */
export { startTui } from './app.js';
