/**
 * The environment for a child process a spec spawns. Coverage collection is switched off in the child:
 * c8 cannot merge the coverage of a module transpiled separately in another process, and the merge
 * would under-report lines the parent did cover.
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  // Node copies NODE_V8_COVERAGE into a child's env unless the env sets it: an empty value switches it off.
  env.NODE_V8_COVERAGE = '';
  return env;
}
