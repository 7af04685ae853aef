import { AppError } from '../../platform/errors.ts';
import type { WorkflowProblem } from './workflow-problem.ts';

/**
 * Problems with the models a document names, found on save like the engine's own problems: a node
 * whose `provider` the operator has not configured (or whose `model` is not a plain name) would
 * otherwise fail only when it runs. `check` is the server's rule for a bot's model choice; it
 * throws `AppError` naming the field. Nodes inside iterations are checked too.
 */
export type ModelChoiceCheck = (choice: { provider?: string | undefined; model?: string | undefined }) => void;

const MODEL_NODES = new Set(['llm', 'question_classifier', 'parameter_extractor']);
const MAX_DEPTH = 4;

export function findModelChoiceProblems(document: unknown, check: ModelChoiceCheck): WorkflowProblem[] {
  const problems: WorkflowProblem[] = [];
  walk(document, undefined, 0);
  return problems;

  function walk(graph: unknown, parentId: string | undefined, depth: number): void {
    if (depth > MAX_DEPTH || !isObject(graph) || !Array.isArray(graph.nodes)) return;
    for (const node of graph.nodes) {
      if (!isObject(node) || typeof node.id !== 'string' || !isObject(node.data)) continue;
      if (node.type === 'iteration') walk(node.data.graph, node.id, depth + 1);
      if (!MODEL_NODES.has(String(node.type))) continue;
      const { provider, model } = node.data;
      if (typeof provider !== 'string' && typeof model !== 'string') continue;
      try {
        check({
          provider: typeof provider === 'string' ? provider : undefined,
          model: typeof model === 'string' ? model : undefined,
        });
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        for (const e of err.errors ?? [{ field: 'provider', message: err.message }]) {
          problems.push({
            code: 'invalid_config',
            message: `data.${e.field}: ${e.message}`,
            node_id: node.id,
            field: `data.${e.field}`,
            ...(parentId === undefined ? {} : { parent_node_id: parentId }),
          });
        }
      }
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
