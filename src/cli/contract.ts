/**
 * `--contract ./contract.ts#name`: loads a contract module (`defineContract` of ssekit/contract)
 * and checks each received event against it. A `.js`/`.mjs` module loads everywhere; a `.ts` one
 * loads when Node can (tsx as a loader, or Node's type stripping), else through the `tsx` of the
 * contract's own project, else it is a usage error that says how.
 */
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AnyContract } from '../contract/define-contract.ts';
import { decodeIncoming, decodeResult } from '../contract/validate.ts';
import { ContractError } from '../errors.ts';
import type { ServerSentEvent } from '../protocol/types.ts';
import { type ContractSpec, UsageError } from './args.ts';
import { describeError } from './format.ts';

/** A module's namespace. */
type ModuleNamespace = Record<string, unknown>;

/**
 * Loads the contract `spec` names, resolving its path against `cwd`. Throws a
 * {@link UsageError} saying what is wrong: no such file, a module that fails to load, a
 * TypeScript module Node cannot load, no such export, or an export that is not a contract.
 */
export async function loadContract(spec: ContractSpec, cwd: string): Promise<AnyContract> {
  const file = resolve(cwd, spec.path);
  const where = `--contract ${spec.path}${spec.exportName === undefined ? '' : `#${spec.exportName}`}`;
  if (!(await isFile(file))) throw new UsageError(`${where}: no such file (${file}).`);
  const namespace = await importModule(file, where);
  return pickContract(namespace, spec.exportName, where);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function importModule(file: string, where: string): Promise<ModuleNamespace> {
  const url = pathToFileURL(file).href;
  try {
    return (await import(url)) as ModuleNamespace;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') {
      throw new UsageError(`${where}: the module failed to load: ${describeError(error)}`);
    }
    // Node without type stripping (Node 20, or 22 before 22.18): use the project's tsx.
    return importWithProjectTsx(file, url, where);
  }
}

async function importWithProjectTsx(
  file: string,
  url: string,
  where: string,
): Promise<ModuleNamespace> {
  let api: string;
  try {
    // Resolved from the contract's folder: the tsx of the project the contract belongs to.
    api = await resolveTsxApi(file);
  } catch {
    throw new UsageError(
      `${where}: this Node (${process.version}) cannot load TypeScript by itself. Install tsx in the contract's project (npm i -D tsx: ssekit then uses it), run under tsx (NODE_OPTIONS='--import tsx' ssekit ...), use Node 22.18 or later (type stripping), or point --contract to a .js module.`,
    );
  }
  try {
    const tsx = (await import(api)) as {
      tsImport(specifier: string, parentURL: string): Promise<ModuleNamespace>;
    };
    return await tsx.tsImport(url, import.meta.url);
  } catch (error) {
    throw new UsageError(`${where}: the module failed to load: ${describeError(error)}`);
  }
}

/**
 * The URL of tsx's ESM API (`tsx/esm/api`, which has `tsImport`) as the package installed next to
 * `file` exports it for `import`. (`require.resolve` would pick its CommonJS build.)
 */
async function resolveTsxApi(file: string): Promise<string> {
  const manifest = createRequire(file).resolve('tsx/package.json');
  const { exports } = JSON.parse(await readFile(manifest, 'utf8')) as {
    exports?: Record<string, { import?: string | { default?: string } } | undefined>;
  };
  const entry = exports?.['./esm/api']?.import;
  const target = typeof entry === 'string' ? entry : entry?.default;
  if (target === undefined) throw new Error(`${manifest} exports no ./esm/api (tsx 4.8 or later).`);
  return pathToFileURL(resolve(dirname(manifest), target)).href;
}

function isContract(value: unknown): value is AnyContract {
  const events = (value as { events?: unknown } | null)?.events;
  return (
    events !== null &&
    typeof events === 'object' &&
    typeof (value as { unknownEvents?: unknown }).unknownEvents === 'string'
  );
}

function pickContract(
  namespace: ModuleNamespace,
  exportName: string | undefined,
  where: string,
): AnyContract {
  const contracts = Object.keys(namespace).filter((name) => isContract(namespace[name]));
  const listed = contracts.length === 0 ? 'none' : contracts.join(', ');
  if (exportName !== undefined) {
    if (!(exportName in namespace)) {
      throw new UsageError(
        `${where}: the module has no export "${exportName}" (contracts: ${listed}).`,
      );
    }
    const value = namespace[exportName];
    if (!isContract(value)) {
      throw new UsageError(
        `${where}: "${exportName}" is not a contract made by defineContract() from ssekit/contract (contracts: ${listed}).`,
      );
    }
    return value;
  }
  if (isContract(namespace.default)) return namespace.default;
  const named = contracts.filter((name) => name !== 'default');
  if (named.length === 1) return namespace[named[0]!] as AnyContract;
  throw new UsageError(
    named.length === 0
      ? `${where}: the module exports no contract made by defineContract() from ssekit/contract.`
      : `${where}: the module exports several contracts (${listed}): name one, e.g. --contract ${where.slice('--contract '.length)}#${named[0]}.`,
  );
}

/**
 * Checks one received event against the contract: resolves with the `ContractError` of a
 * violation, or undefined. ssekit's `error` event is the server's error, not data to check;
 * another terminal event (`done`, `[DONE]`, ...) is checked only when the contract names its
 * type, its data by the `done` schema for `done`.
 */
export async function checkEvent(
  contract: AnyContract,
  event: ServerSentEvent,
  terminal: boolean,
): Promise<ContractError | undefined> {
  if (event.type === 'error') return undefined;
  const named = Object.hasOwn(contract.events, event.type);
  if (terminal && !named) return undefined;
  try {
    if (event.type === 'done') await decodeResult(contract, event);
    else await decodeIncoming(contract, event);
    return undefined;
  } catch (error) {
    if (ContractError.isInstance(error)) return error;
    throw error;
  }
}
