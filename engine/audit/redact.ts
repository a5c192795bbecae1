/**
 * The audit log's redaction is the one secret redactor (policies/secrets/redact.ts), the same the
 * secret_redactor hook runs on tool output: a secret is hidden the same way in a row and in the
 * model's context. Re-exported here so the audit modules keep one local import.
 */
export { redactSecrets, redactValue } from '../../policies/secrets/redact.js';
