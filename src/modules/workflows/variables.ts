import type { VarType } from './value-types.ts';

/**
 * Variables flow between nodes by reference: `{{knowledge_1.result}}`, `{{start.message}}`,
 * `{{sys.session_id}}`, `{{http_1.json.items.0.name}}`. A reference names a node (or `sys`) and an
 * output, then optional fields or list indices. There is no expression language on purpose: a
 * template only substitutes values, so what a node receives is always predictable.
 *
 * Anything between `{{` and `}}` that looks like a name (letters, digits, `_ - .`) must be a valid
 * reference, so a typo such as `{{query}}` is reported instead of silently sent to a model; other
 * text in braces (JSON examples in a prompt) is left alone.
 */

export interface Reference {
  /** The text as written, braces included. */
  raw: string;
  nodeId: string;
  /** Output name first, then fields or indices. Never empty. */
  path: string[];
}

export type TemplatePart = { kind: 'text'; text: string } | { kind: 'ref'; ref: Reference };

export interface TemplateProblem {
  raw: string;
  message: string;
}

export interface ParsedTemplate {
  parts: TemplatePart[];
  problems: TemplateProblem[];
}

/** The reserved node id of run-wide values. */
export const SYSTEM_NODE_ID = 'sys';

/** Run-wide values under `{{sys.…}}`. */
export const SYSTEM_VARIABLE_TYPES: Readonly<Record<string, VarType>> = {
  session_id: 'string',
  bot_id: 'string',
  run_id: 'string',
  /** When the run started, ISO 8601. */
  now: 'string',
};

const BRACES = /\{\{([^{}]*)\}\}/g;
const NAME_LIKE = /^[\w.-]+$/;
const REFERENCE = /^[\w-]+(?:\.[\w-]+)+$/;

/** Splits a template into literal text and references, listing malformed references. */
export function parseTemplate(template: string): ParsedTemplate {
  const parts: TemplatePart[] = [];
  const problems: TemplateProblem[] = [];
  let last = 0;
  for (const match of template.matchAll(BRACES)) {
    const inner = (match[1] ?? '').trim();
    if (!NAME_LIKE.test(inner)) continue;
    const raw = match[0];
    if (!REFERENCE.test(inner)) {
      problems.push({ raw, message: `"${raw}" is not a reference; write {{node_id.output}}` });
      continue;
    }
    const [nodeId, ...path] = inner.split('.');
    if (match.index > last) parts.push({ kind: 'text', text: template.slice(last, match.index) });
    parts.push({ kind: 'ref', ref: { raw, nodeId: nodeId as string, path } });
    last = match.index + raw.length;
  }
  if (last < template.length) parts.push({ kind: 'text', text: template.slice(last) });
  return { parts, problems };
}

/** The references a template uses (malformed ones excluded). */
export function referencesIn(template: string): Reference[] {
  return parseTemplate(template).parts.flatMap((p) => (p.kind === 'ref' ? [p.ref] : []));
}

/** A string that is exactly one reference (surrounding blanks allowed), else undefined. */
export function parseSingleReference(text: string): Reference | undefined {
  const { parts, problems } = parseTemplate(text.trim());
  if (problems.length > 0 || parts.length !== 1) return undefined;
  const [only] = parts;
  return only?.kind === 'ref' ? only.ref : undefined;
}

/**
 * The values a run has produced so far: each finished node's outputs under its id, plus `sys`.
 * A child scope (one iteration of a sub-graph) sees its parent's values and may shadow them.
 */
export class VariableScope {
  readonly #values = new Map<string, Record<string, unknown>>();
  readonly #parent: VariableScope | undefined;

  constructor(parent?: VariableScope) {
    this.#parent = parent;
  }

  set(nodeId: string, outputs: Record<string, unknown>): void {
    this.#values.set(nodeId, outputs);
  }

  get(nodeId: string): Record<string, unknown> | undefined {
    return this.#values.get(nodeId) ?? this.#parent?.get(nodeId);
  }

  child(): VariableScope {
    return new VariableScope(this);
  }
}

/**
 * The value a reference points at, or undefined when its node has not run (a skipped branch) or
 * the path leads nowhere. Only own properties are followed, so `__proto__` and friends are inert.
 */
export function lookupReference(scope: VariableScope, ref: Reference): unknown {
  let value: unknown = scope.get(ref.nodeId);
  for (const segment of ref.path) {
    if (value === null || typeof value !== 'object') return undefined;
    if (Array.isArray(value)) {
      if (!/^\d+$/.test(segment)) return undefined;
      value = value[Number(segment)];
    } else {
      if (!Object.hasOwn(value, segment)) return undefined;
      value = (value as Record<string, unknown>)[segment];
    }
  }
  return value;
}

/** How a value reads inside text: strings as they are, nothing as '', lists and objects as JSON. */
export function renderValue(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

/** Substitutes every reference in a template; malformed references stay as written. */
export function renderTemplate(template: string, scope: VariableScope): string {
  return parseTemplate(template)
    .parts.map((p) => (p.kind === 'text' ? p.text : renderValue(lookupReference(scope, p.ref))))
    .join('');
}

/**
 * A reference's value when the whole string is one reference (keeping its type: a list stays a
 * list), otherwise the rendered text.
 */
export function resolveValue(text: string, scope: VariableScope): unknown {
  const ref = parseSingleReference(text);
  return ref ? lookupReference(scope, ref) : renderTemplate(text, scope);
}
