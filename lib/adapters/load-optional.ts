/**
 * Loads an engine's client library on first use, so that pnetwork itself needs none of them.
 * @module
 */

/**
 * Imports `name`, or throws an Error that says which package to install for `feature`.
 * @param name the package
 * @param feature what needs it, for the message
 */
export async function loadOptional<T>(name: string, feature: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new Error(`${feature} needs the "${name}" package: npm install ${name}`, { cause: err });
    }
    throw err;
  }
}
