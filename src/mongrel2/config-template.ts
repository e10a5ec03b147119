/**
 * The placeholders of a mongrel2.conf template, replaced by `m2pool mongrel2` before `m2sh load`:
 * `${RUN_DIR}` (the absolute run directory), `${PORT}` (the HTTP port), and `${NAME}` / `${NAME:-default}` for
 * any other upper-case name, read from the environment (shell syntax: an unset or empty variable takes the
 * default). A variable with neither a value nor a default is an error naming every such variable, so a config
 * is never loaded with a hole in it.
 * @module
 */

/** Values of the two placeholders `m2pool mongrel2` always provides. */
export interface TemplateValues {
  /** Absolute run directory, for `${RUN_DIR}`. */
  readonly runDir: string;
  /** HTTP port, for `${PORT}`. */
  readonly port: number;
}

const PLACEHOLDER = /\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}/g;

/** Replace every placeholder of `text`; throws an `Error` listing the variables that have no value. */
export function expandConfigTemplate(text: string, values: TemplateValues, env: NodeJS.ProcessEnv = process.env): string {
  const missing = new Set<string>();
  const expanded = text.replace(PLACEHOLDER, (whole, name: string, fallback: string | undefined) => {
    if (name === 'RUN_DIR') return values.runDir;
    if (name === 'PORT') return String(values.port);
    const value = env[name];
    if (value !== undefined && value !== '') return value;
    if (fallback !== undefined) return fallback;
    missing.add(name);
    return whole;
  });
  if (missing.size > 0) {
    throw new Error(`environment variables without a value or a default: ${[...missing].join(', ')} (write \${NAME:-default} for a default)`);
  }
  return expanded;
}
