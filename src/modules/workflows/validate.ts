import type { CompiledGraph, CompiledNode, Workflow } from './compiled-workflow.ts';
import { type Subgraph, WorkflowDocumentSchema } from './document.ts';
import { analyzeGraph, type GraphEdge } from './graph.ts';
import type { AnyNodeDefinition, TypeInfo } from './node-definition.ts';
import { type NodeRegistry, nodeRegistry } from './nodes/registry.ts';
import { bestEffortUses, checkUse, referenceType } from './validate-variables.ts';
import type { VarType } from './value-types.ts';
import { parseSingleReference, type Reference } from './variables.ts';
import type { WorkflowProblem } from './workflow-problem.ts';

/**
 * Checks a workflow document when it is saved and lists every problem at once, each with a stable
 * code and the node and field it concerns, so an editor can mark them all. A document that passes
 * is compiled into a `Workflow` (node configs parsed, graph analysed) — the only thing
 * `runWorkflow` accepts, so a run never meets a problem the validator could have found.
 */

export type ValidationResult =
  | { ok: true; errors: []; workflow: Workflow }
  | { ok: false; errors: WorkflowProblem[]; workflow?: undefined };

/** Iterations may nest this deep. */
const MAX_DEPTH = 3;

export function validateWorkflow(input: unknown, registry: NodeRegistry = nodeRegistry): ValidationResult {
  const parsed = WorkflowDocumentSchema.safeParse(input);
  if (!parsed.success) {
    const errors = parsed.error.issues.map(
      (issue): WorkflowProblem => ({ code: 'invalid_document', field: formatPath(issue.path), message: issue.message }),
    );
    return { ok: false, errors };
  }
  const problems: WorkflowProblem[] = [];
  const graph = checkGraph(parsed.data, {
    registry,
    problems,
    seenIds: new Set(),
    allIds: collectNodeIds(parsed.data.nodes),
    outer: new Map(),
    depth: 0,
    parentId: undefined,
  });
  if (problems.length > 0 || !graph) return { ok: false, errors: problems };
  return { ok: true, errors: [], workflow: { document: parsed.data, graph } };
}

export type Outputs = Record<string, VarType>;

export interface CheckEnv {
  registry: NodeRegistry;
  problems: WorkflowProblem[];
  seenIds: Set<string>;
  allIds: ReadonlySet<string>;
  /** Variables visible from enclosing graphs (undefined: that node's outputs are unknown). */
  outer: ReadonlyMap<string, Outputs | undefined>;
  depth: number;
  parentId: string | undefined;
}

export interface Entry {
  id: string;
  type: string;
  definition: AnyNodeDefinition | undefined;
  config: unknown;
  configOk: boolean;
  raw: Record<string, unknown>;
}

function checkGraph(doc: Subgraph, env: CheckEnv): CompiledGraph | undefined {
  const before = env.problems.length;
  const report = (p: WorkflowProblem) => {
    const problem = Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as WorkflowProblem;
    env.problems.push(env.parentId === undefined ? problem : { ...problem, parent_node_id: env.parentId });
  };

  // Nodes: ids, types, configurations.
  const byId = new Map<string, Entry>();
  doc.nodes.forEach((node, i) => {
    if (env.seenIds.has(node.id)) {
      report({
        code: 'duplicate_node_id',
        node_id: node.id,
        field: `nodes[${i}].id`,
        message: `Node id "${node.id}" is used more than once`,
      });
      return;
    }
    env.seenIds.add(node.id);
    const definition = env.registry.get(node.type);
    const entry: Entry = {
      id: node.id,
      type: node.type,
      definition,
      config: undefined,
      configOk: false,
      raw: node.data,
    };
    byId.set(node.id, entry);
    if (!definition) {
      report({
        code: 'unknown_node_type',
        node_id: node.id,
        field: `nodes[${i}].type`,
        message: `Unknown node type "${node.type}"; known types: ${[...env.registry.keys()].join(', ')}`,
      });
      return;
    }
    const result = definition.configSchema.safeParse(node.data);
    if (result.success) {
      entry.config = result.data;
      entry.configOk = true;
      return;
    }
    for (const issue of result.error.issues) {
      const missing = issue.code === 'invalid_type' && /received undefined/.test(issue.message);
      const field = formatPath(['data', ...issue.path]);
      report({
        code: missing ? 'missing_field' : 'invalid_config',
        node_id: node.id,
        field,
        message: missing ? `${field} is required` : `${field}: ${issue.message}`,
      });
    }
  });

  const branchesOf = (e: Entry): readonly string[] | undefined =>
    e.definition?.branches ? (e.configOk ? e.definition.branches(e.config) : []) : undefined;
  const roleOf = (e: Entry) => e.definition?.role;

  // Start and end nodes.
  const starts = [...byId.values()].filter((e) => roleOf(e) === 'start');
  const ends = [...byId.values()].filter((e) => roleOf(e) === 'end');
  if (starts.length === 0) report({ code: 'missing_start', message: 'The workflow has no start node' });
  for (const extra of starts.slice(1)) {
    report({ code: 'multiple_starts', node_id: extra.id, message: 'A workflow has exactly one start node' });
  }
  if (ends.length === 0) report({ code: 'missing_end', message: 'The workflow has no end node' });

  // Edges.
  const edges: GraphEdge[] = [];
  const edgeKeys = new Set<string>();
  doc.edges.forEach((edge, i) => {
    const at = { edge_id: edge.id, field: `edges[${i}]` };
    const source = byId.get(edge.source);
    const target = byId.get(edge.target);
    if (!source) report({ ...at, code: 'dangling_edge', message: `Edge from unknown node "${edge.source}"` });
    if (!target) report({ ...at, code: 'dangling_edge', message: `Edge to unknown node "${edge.target}"` });
    if (!source || !target) return;
    const handle = edge.source_handle;
    const key = `${edge.source}\u0000${handle ?? ''}\u0000${edge.target}`;
    if (edgeKeys.has(key)) {
      report({ ...at, code: 'duplicate_edge', message: `Edge ${edge.source} → ${edge.target} appears twice` });
      return;
    }
    edgeKeys.add(key);
    edges.push(edge);
    if (roleOf(target) === 'start') {
      report({ ...at, node_id: target.id, code: 'start_has_inputs', message: 'No edge may lead into the start node' });
    }
    if (roleOf(source) === 'end') {
      report({ ...at, node_id: source.id, code: 'end_has_outputs', message: 'No edge may leave an end node' });
    }
    const branches = branchesOf(source);
    if (branches === undefined) {
      if (handle !== undefined) {
        report({
          ...at,
          node_id: source.id,
          code: 'invalid_handle',
          message: `Node "${source.id}" (${source.type}) does not branch; remove source_handle "${handle}"`,
        });
      }
    } else if (handle === undefined) {
      report({
        ...at,
        node_id: source.id,
        code: 'missing_handle',
        message: `Edge from branching node "${source.id}" needs a source_handle (one of: ${branches.join(', ')})`,
      });
    } else if (source.configOk && !branches.includes(handle)) {
      report({
        ...at,
        node_id: source.id,
        code: 'invalid_handle',
        message: `Node "${source.id}" has no branch "${handle}" (branches: ${branches.join(', ')})`,
      });
    }
  });

  for (const e of byId.values()) {
    const branches = branchesOf(e);
    for (const handle of branches ?? []) {
      if (!edges.some((edge) => edge.source === e.id && edge.source_handle === handle)) {
        report({
          code: 'unconnected_branch',
          node_id: e.id,
          message: `Branch "${handle}" of node "${e.id}" is not connected; every branch must lead to an end node`,
        });
      }
    }
  }

  // Structure: cycles, reachability, a way to an end.
  const analysis = analyzeGraph(
    [...byId.values()].map((e) => ({ id: e.id, branches: branchesOf(e), role: roleOf(e) })),
    edges,
  );
  for (const cycle of analysis.cycles) {
    report({
      code: 'cycle',
      node_id: cycle[0],
      message: `Nodes ${cycle.join(' → ')} form a cycle; loops are written with an iteration node`,
    });
  }
  if (starts.length > 0) {
    for (const e of byId.values()) {
      if (!analysis.reachable.has(e.id)) {
        report({ code: 'unreachable_node', node_id: e.id, message: `Node "${e.id}" cannot be reached from start` });
      } else if (ends.length > 0 && !analysis.reachesEnd.has(e.id)) {
        report({
          code: 'no_path_to_end',
          node_id: e.id,
          message:
            roleOf(e) === 'start'
              ? 'There is no path from start to an end node'
              : `No path leads from node "${e.id}" to an end node`,
        });
      }
    }
  }

  // Variables: every reference points at an upstream output of a compatible type.
  const outputs = new Map<string, Outputs | undefined>();
  const subgraphs = new Map<string, CompiledGraph | undefined>();
  for (const id of analysis.order) {
    const entry = byId.get(id) as Entry;
    const definition = entry.definition;
    const resolveType = (ref: Reference) => referenceType(ref, id, { byId, analysis, outputs, env });
    if (!definition || !entry.configOk) {
      // Still check the references of a node whose configuration is invalid, as far as it reads.
      if (definition) for (const p of bestEffortUses(definition, entry.raw, resolveType)) report({ ...p, node_id: id });
      outputs.set(id, undefined);
      continue;
    }
    const types: TypeInfo = {
      typeOf(text) {
        const ref = parseSingleReference(text);
        const r = ref ? resolveType(ref) : undefined;
        return r && 'type' in r ? r.type : 'any';
      },
    };
    for (const use of definition.uses(entry.config)) {
      for (const p of checkUse(use, resolveType)) report({ ...p, node_id: id });
    }
    for (const p of definition.checkTypes?.(entry.config, types) ?? []) {
      report({ code: 'type_mismatch', node_id: id, field: `data.${p.field}`, message: p.message });
    }
    outputs.set(id, definition.outputs(entry.config, types));

    if (definition.subgraph) {
      const spec = definition.subgraph(entry.config, types);
      if (env.depth + 1 > MAX_DEPTH) {
        report({ code: 'nested_too_deep', node_id: id, message: `Iterations nest at most ${MAX_DEPTH} deep` });
        continue;
      }
      const outer = new Map(env.outer);
      for (const a of analysis.ancestors(id)) outer.set(a, outputs.get(a));
      outer.set(id, spec.variables);
      subgraphs.set(id, checkGraph(spec.graph, { ...env, outer, depth: env.depth + 1, parentId: id }));
    }
  }

  if (env.problems.length > before || !starts[0]) return undefined;
  const nodes = new Map<string, CompiledNode>();
  for (const e of byId.values()) {
    nodes.set(e.id, {
      id: e.id,
      type: e.type,
      definition: e.definition as AnyNodeDefinition,
      config: e.config,
      branches: branchesOf(e),
      subgraph: subgraphs.get(e.id),
    });
  }
  const endIds = analysis.order.filter((id) => roleOf(byId.get(id) as Entry) === 'end');
  return { nodes, edges, analysis, startId: starts[0].id, endIds };
}

/** Every node id in the document, sub-graphs included (for telling "not upstream" from "unknown"). */
function collectNodeIds(nodes: readonly { id: string; data: Record<string, unknown> }[]): Set<string> {
  const ids = new Set<string>();
  const visit = (list: unknown) => {
    if (!Array.isArray(list)) return;
    for (const n of list) {
      if (n === null || typeof n !== 'object') continue;
      const node = n as { id?: unknown; data?: { graph?: { nodes?: unknown } } };
      if (typeof node.id === 'string') ids.add(node.id);
      visit(node.data?.graph?.nodes);
    }
  };
  visit(nodes);
  return ids;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}
