import type { GraphAnalysis } from './graph.ts';
import type { AnyNodeDefinition, VariableUse } from './node-definition.ts';
import type { CheckEnv, Entry, Outputs } from './validate.ts';
import { isAssignable, typeAtPath, type VarType } from './value-types.ts';
import {
  parseSingleReference,
  parseTemplate,
  type Reference,
  SYSTEM_NODE_ID,
  SYSTEM_VARIABLE_TYPES,
} from './variables.ts';
import type { ProblemCode, WorkflowProblem } from './workflow-problem.ts';

/**
 * The variable half of validation: what a reference points at, whether that node is upstream and
 * declares that output, and whether its type fits where it is used.
 */

export type TypeResult = { type: VarType } | { problem: Omit<WorkflowProblem, 'node_id'> };

export function referenceType(
  ref: Reference,
  fromId: string,
  graph: {
    byId: ReadonlyMap<string, Entry>;
    analysis: GraphAnalysis;
    outputs: ReadonlyMap<string, Outputs | undefined>;
    env: CheckEnv;
  },
): TypeResult {
  const [output, ...rest] = ref.path as [string, ...string[]];
  const fail = (code: ProblemCode, message: string): TypeResult => ({ problem: { code, message } });
  let outs: Outputs | undefined;
  let label = `node "${ref.nodeId}"`;
  if (ref.nodeId === SYSTEM_NODE_ID) {
    outs = SYSTEM_VARIABLE_TYPES;
    label = 'sys';
  } else if (graph.byId.has(ref.nodeId)) {
    if (ref.nodeId === fromId) return fail('variable_not_upstream', `${ref.raw}: a node cannot read its own outputs`);
    if (!graph.analysis.ancestors(fromId).has(ref.nodeId)) {
      return fail('variable_not_upstream', `${ref.raw}: node "${ref.nodeId}" is not upstream of "${fromId}"`);
    }
    outs = graph.outputs.get(ref.nodeId);
    if (outs === undefined) return { type: 'any' };
    label = `node "${ref.nodeId}" (${graph.byId.get(ref.nodeId)?.type})`;
  } else if (graph.env.outer.has(ref.nodeId)) {
    outs = graph.env.outer.get(ref.nodeId);
    if (outs === undefined) return { type: 'any' };
  } else if (graph.env.allIds.has(ref.nodeId)) {
    return fail('variable_not_upstream', `${ref.raw}: node "${ref.nodeId}" is not upstream of "${fromId}"`);
  } else {
    return fail('unknown_variable', `${ref.raw}: there is no node "${ref.nodeId}"`);
  }
  const declared = Object.hasOwn(outs, output) ? outs[output] : undefined;
  if (declared === undefined) {
    const known = Object.keys(outs);
    return fail('unknown_variable', `${ref.raw}: ${label} has no output "${output}" (it has: ${known.join(', ')})`);
  }
  const at = typeAtPath(declared, rest);
  return 'error' in at ? fail('unknown_variable', `${ref.raw}: ${at.error}`) : at;
}

export function checkUse(
  use: VariableUse,
  resolveType: (ref: Reference) => TypeResult,
): Array<Omit<WorkflowProblem, 'node_id'>> {
  const field = `data.${use.field}`;
  const out: Array<Omit<WorkflowProblem, 'node_id'>> = [];
  if (use.kind === 'template') {
    const parsed = parseTemplate(use.text);
    for (const p of parsed.problems) out.push({ code: 'invalid_reference', field, message: p.message });
    for (const part of parsed.parts) {
      if (part.kind !== 'ref') continue;
      const r = resolveType(part.ref);
      if ('problem' in r) out.push({ ...r.problem, field });
    }
    return out;
  }
  const ref = parseSingleReference(use.text);
  if (!ref) {
    out.push({
      code: 'invalid_reference',
      field,
      message: `${field} must be a single reference such as {{node_id.output}}, got "${use.text}"`,
    });
    return out;
  }
  const r = resolveType(ref);
  if ('problem' in r) out.push({ ...r.problem, field });
  else if (use.accepts && !isAssignable(r.type, use.accepts)) {
    out.push({
      code: 'type_mismatch',
      field,
      message: `${ref.raw} is a ${r.type}, but ${field} needs ${use.accepts.join(' or ')}`,
    });
  }
  return out;
}

/**
 * The reference problems of a configuration that failed its schema, read as far as it can be: the
 * node type's `uses` on the raw data, keeping only uses whose text is a string. A crash means the
 * data is too far off to read, and its schema problems are reported anyway.
 */
export function bestEffortUses(
  definition: AnyNodeDefinition,
  raw: Record<string, unknown>,
  resolveType: (ref: Reference) => TypeResult,
): Array<Omit<WorkflowProblem, 'node_id'>> {
  let uses: VariableUse[];
  try {
    uses = definition.uses(raw);
  } catch {
    return [];
  }
  return uses
    .filter((u) => typeof u.text === 'string')
    .flatMap((u) => checkUse(u, resolveType))
    .filter((p) => p.code !== 'type_mismatch');
}
