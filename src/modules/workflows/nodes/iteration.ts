import { z } from 'zod';
import { SubgraphSchema } from '../document.ts';
import { defineNode, type SubgraphRun, WorkflowNodeError } from '../node-definition.ts';
import { mergeSources } from '../sources.ts';
import { elementType } from '../value-types.ts';

const LIST_TYPES = ['array[string]', 'array[number]', 'array[object]', 'array[any]'] as const;

const IterationConfig = z.object({
  /** A reference to a list, e.g. `{{extract_1.questions}}` or `{{knowledge_1.sources}}`. */
  items: z.string().min(1).max(200),
  /** Items past this are not processed (`truncated` says so); capped by the operator's limit. */
  max_items: z.number().int().min(1).max(1000).default(20),
  /** Items processed at the same time; capped by the operator's limit. */
  concurrency: z.number().int().min(1).max(32).default(1),
  separator: z.string().max(100).default('\n\n'),
  /** The body run once per item: its own start and end nodes; reads `{{<this id>.item}}` and `.index`. */
  graph: SubgraphSchema,
});

/**
 * Runs a sub-graph over each item of a list, bounded in count and concurrency. Each item's answer
 * (its end node) becomes one entry of `results`; the first failing item fails the node.
 */
export const iterationNode = defineNode({
  type: 'iteration',
  description: 'Runs a sub-graph for each item of a list',
  configSchema: IterationConfig,
  outputs: () => ({
    results: 'array[string]',
    text: 'string',
    sources: 'array[object]',
    count: 'number',
    truncated: 'boolean',
  }),
  uses: (c) => [{ field: 'items', kind: 'reference', text: c.items, accepts: LIST_TYPES }],
  subgraph: (c, types) => ({
    graph: c.graph,
    variables: { item: elementType(types.typeOf(c.items)) ?? 'any', index: 'number' },
  }),
  async run(config, ctx) {
    const list = ctx.resolve(config.items);
    if (!Array.isArray(list)) {
      throw new WorkflowNodeError('invalid_input', `${config.items} is not a list`);
    }
    const limit = Math.min(config.max_items, ctx.deps.limits.maxIterationItems);
    const items = list.slice(0, limit);
    const concurrency = Math.min(config.concurrency, ctx.deps.limits.maxIterationConcurrency);
    const controller = new AbortController();
    const signal = AbortSignal.any([ctx.signal, controller.signal]);
    const runs: SubgraphRun[] = new Array(items.length);
    let next = 0;
    let firstFailure: WorkflowNodeError | undefined;

    const worker = async () => {
      while (next < items.length && !signal.aborted) {
        const index = next++;
        try {
          runs[index] = await ctx.runSubgraph({ item: items[index], index }, signal);
        } catch (err) {
          if (firstFailure || controller.signal.aborted) return;
          const code = err instanceof WorkflowNodeError ? err.code : 'node_failed';
          const message = err instanceof Error ? err.message : String(err);
          firstFailure = new WorkflowNodeError(code, `Item ${index}: ${message}`, {
            details: { failed_item: index, trace: err instanceof WorkflowNodeError ? err.details?.trace : undefined },
          });
          controller.abort(firstFailure);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
    if (firstFailure) throw firstFailure;
    ctx.signal.throwIfAborted();

    const results = runs.map((r) => r.answer);
    return {
      inputs: { items: list.length, processed: items.length, concurrency },
      outputs: {
        results,
        text: results.join(config.separator),
        sources: mergeSources(runs.map((r) => r.sources)),
        count: items.length,
        truncated: items.length < list.length,
      },
      details: { iterations: runs.map((r) => r.trace) },
    };
  },
});
