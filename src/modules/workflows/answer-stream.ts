import { raceAbort } from '../../platform/abort.ts';
import type { CompiledGraph } from './compiled-workflow.ts';
import type { TextStream } from './event-channel.ts';
import type { WorkflowEvent } from './events.ts';
import { ANSWER_SEPARATOR, type SettledStatus } from './graph-runner.ts';
import { mergeSources, type Source, toSources } from './sources.ts';
import {
  lookupReference,
  parseSingleReference,
  parseTemplate,
  type Reference,
  renderValue,
  SYSTEM_NODE_ID,
  type VariableScope,
} from './variables.ts';

/**
 * Streams the answer while the graph runs. The answer is the text of every end node that runs,
 * joined in topological order with a blank line. For each end node, in that order, the composer
 * waits until the end node is *certain* to run (it started, or a node that makes it certain
 * started — see `GraphAnalysis.certifiers`) or is skipped. For a certain end node it sends its
 * sources, then walks its answer template: literal text goes out at once, a reference to an LLM's
 * `text` that certainly leads to this end node goes out token by token as the model writes, and
 * any other reference goes out when its node has settled. So tokens are never streamed for a
 * branch that is later abandoned, and the joined deltas are exactly the final answer.
 */

export type AnswerSegment = { kind: 'text'; text: string } | { kind: 'ref'; ref: Reference; streamed: boolean };

export interface AnswerPlan {
  ends: Array<{ endId: string; certifiers: readonly string[]; segments: AnswerSegment[]; sources: Reference[] }>;
  /** Nodes whose output is streamed into the answer. */
  streamedNodes: ReadonlySet<string>;
}

export function planAnswer(graph: CompiledGraph): AnswerPlan {
  const streamedNodes = new Set<string>();
  const ends = graph.endIds.map((endId) => {
    const end = graph.nodes.get(endId);
    const spec = end?.definition.answer?.(end.config) ?? { template: '', sources: [] };
    const certifiers = graph.analysis.certifiers(endId);
    const segments = parseTemplate(spec.template).parts.map((part): AnswerSegment => {
      if (part.kind === 'text') return part;
      const producer = graph.nodes.get(part.ref.nodeId);
      const streamed =
        producer !== undefined &&
        producer.definition.streams === part.ref.path[0] &&
        part.ref.path.length === 1 &&
        certifiers.has(producer.id);
      if (streamed) streamedNodes.add(part.ref.nodeId);
      return { kind: 'ref', ref: part.ref, streamed };
    });
    const sources = spec.sources.flatMap((s) => {
      const ref = parseSingleReference(s);
      return ref ? [ref] : [];
    });
    return { endId, certifiers: [...certifiers], segments, sources };
  });
  return { ends, streamedNodes };
}

export interface AnswerRuntime {
  scope: VariableScope;
  started(nodeId: string): Promise<void>;
  settled(nodeId: string): Promise<SettledStatus>;
  stream(nodeId: string): TextStream | undefined;
}

export async function composeAnswer(
  plan: AnswerPlan,
  rt: AnswerRuntime,
  emit: (event: WorkflowEvent) => void,
  signal: AbortSignal,
): Promise<{ answer: string; sources: Source[] }> {
  const pieces: string[] = [];
  const sourceLists: Source[][] = [];
  let separatorDue = false;
  const out = (text: string) => {
    if (text === '') return;
    if (separatorDue) {
      separatorDue = false;
      pieces.push(ANSWER_SEPARATOR);
      emit({ type: 'delta', text: ANSWER_SEPARATOR });
    }
    pieces.push(text);
    emit({ type: 'delta', text });
  };
  const settledValue = async (ref: Reference) => {
    if (ref.nodeId !== SYSTEM_NODE_ID) await raceAbort(rt.settled(ref.nodeId), signal);
    return lookupReference(rt.scope, ref);
  };

  for (const end of plan.ends) {
    const certain = await raceAbort(
      Promise.race([
        ...end.certifiers.map((id) => rt.started(id).then(() => true)),
        rt.settled(end.endId).then((s) => s === 'succeeded'),
      ]),
      signal,
    );
    if (!certain) continue;

    const lists: Source[][] = [];
    for (const ref of end.sources) lists.push(toSources(await settledValue(ref)));
    const sources = mergeSources(lists);
    if (sources.length > 0) {
      sourceLists.push(sources);
      emit({ type: 'sources', sources });
    }

    if (pieces.length > 0) separatorDue = true;
    for (const segment of end.segments) {
      if (segment.kind === 'text') {
        out(segment.text);
      } else if (segment.streamed) {
        const id = segment.ref.nodeId;
        await raceAbort(Promise.race([rt.started(id), rt.settled(id)]), signal);
        const stream = rt.stream(id);
        if (stream) for await (const text of stream.read(signal)) out(text);
      } else {
        out(renderValue(await settledValue(segment.ref)));
      }
    }
    separatorDue = false;
  }
  return { answer: pieces.join(''), sources: mergeSources(sourceLists) };
}
