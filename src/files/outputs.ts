/**
 * Checks on the files a command is about to write, made before any work starts: an output must be a place
 * lake can write (a file where a file is written, a directory where a report goes, in a directory that exists
 * and is writable) and must not be any of the command's inputs, compared by identity (device and inode, so
 * hard links and symbolic links count) and, for a path that does not exist yet, by where it resolves.
 */
import { accessSync, constants, realpathSync, type Stats, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { LakeError, usageError } from '../errors.js';

/** A file a command reads, with the flag (or argument name) the user gave it under. */
export interface InputPath {
  flag: string;
  path: string;
}

/**
 * What an output is: a file written by rename, a directory of report files (created when missing), or a
 * device lake opens in place (a file or block device: its own rules are in src/realdev/open.ts).
 */
export type OutputKind = 'file' | 'directory' | 'device';

export interface OutputPath {
  flag: string;
  path: string;
  /** Default 'file'. */
  kind?: OutputKind;
  /** A directory's files lake writes (plain names); each is checked against the inputs. */
  files?: readonly string[];
}

/**
 * Refuses outputs that cannot be written or that are also inputs (or the same file as another output).
 * Usage errors name the flags as typed; a directory lake may not write into is LAKE_E_IO.
 */
export function checkOutputs(outputs: readonly OutputPath[], inputs: readonly InputPath[] = []): void {
  for (const output of outputs) checkWritable(output);
  const known: Array<{ named: InputPath; keys: string[]; input: boolean }> = inputs
    .filter((input) => input.path !== '-' && input.path !== '')
    .map((input) => ({ named: input, keys: identityKeys(input.path), input: true }));
  for (const output of outputs) {
    const written =
      output.kind === 'directory'
        ? (output.files ?? []).map((name) => join(output.path, name))
        : [output.path];
    for (const path of written) {
      const keys = identityKeys(path);
      const other = known.find((k) => k.keys.some((key) => keys.includes(key)));
      if (other !== undefined) {
        const subject =
          output.kind === 'directory'
            ? `${output.flag} ${output.path} would write ${path}, which is`
            : `${output.flag} ${path} is`;
        const same = resolve(path) === resolve(other.named.path);
        const relation = other.input
          ? `${same ? 'also the input' : 'the same file as the input'} ${other.named.flag} ${other.named.path}: lake never writes over its input`
          : `the same file as ${other.named.flag} ${other.named.path}: one file cannot be two outputs`;
        throw usageError(
          `${subject} ${relation}; name another ${output.kind === 'directory' ? 'directory' : 'file'}`,
        );
      }
      known.push({ named: { flag: output.flag, path }, keys, input: false });
    }
  }
}

/** The identities of a path: its device and inode when it exists, and where it resolves to. */
function identityKeys(path: string): string[] {
  const keys = [`path:${resolvedPath(path)}`];
  try {
    const s = statSync(path, { bigint: true });
    keys.push(`inode:${s.dev}:${s.ino}`);
  } catch {
    // Not there (yet): its resolved path is its identity.
  }
  return keys;
}

/** The absolute path with every symbolic link in its existing part resolved. */
function resolvedPath(path: string): string {
  const absolute = resolve(path);
  const rest: string[] = [];
  let head = absolute;
  for (;;) {
    try {
      return join(realpathSync(head), ...rest.reverse());
    } catch {
      const parent = dirname(head);
      if (parent === head) return absolute;
      rest.push(basename(head));
      head = parent;
    }
  }
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new LakeError('LAKE_E_IO', `${path}: cannot inspect: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function checkWritable(output: OutputPath): void {
  const { flag, path } = output;
  const kind = output.kind ?? 'file';
  if (kind === 'device') return;
  const stats = statOrUndefined(path);
  if (kind === 'file') {
    if (stats?.isDirectory() === true)
      throw usageError(`${flag} ${path} is a directory: name the file to write`);
    if (stats !== undefined && !stats.isFile())
      throw usageError(
        `${flag} ${path} is not a regular file: lake writes a new file and renames it into place`,
      );
    const dir = dirname(resolve(path));
    const dirStats = statOrUndefined(dir);
    if (dirStats === undefined)
      throw usageError(`${flag} ${path}: the directory ${dirname(path)} does not exist`);
    if (!dirStats.isDirectory()) throw usageError(`${flag} ${path}: ${dirname(path)} is not a directory`);
    checkAccess(flag, path, dir);
    return;
  }
  if (stats !== undefined) {
    if (!stats.isDirectory())
      throw usageError(`${flag} ${path} is not a directory: name a directory for the report`);
    checkAccess(flag, path, path);
    return;
  }
  // Created with its missing parents: the nearest existing ancestor must be a writable directory.
  let ancestor = dirname(resolve(path));
  for (;;) {
    const s = statOrUndefined(ancestor);
    if (s !== undefined) {
      if (!s.isDirectory()) throw usageError(`${flag} ${path}: ${ancestor} is not a directory`);
      checkAccess(flag, path, ancestor);
      return;
    }
    const parent = dirname(ancestor);
    if (parent === ancestor) return;
    ancestor = parent;
  }
}

function checkAccess(flag: string, path: string, dir: string): void {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new LakeError(
      'LAKE_E_IO',
      `${flag} ${path}: cannot write into ${dir}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}
