import type { LlmMessage, LlmRequest, LlmUsage } from '../../providers/llm/spec.ts';
import { type NodeContext, WorkflowNodeError } from './node-definition.ts';
import type { LlmChoice } from './workflow-deps.ts';

/**
 * One model call for the nodes that use a model (llm, question_classifier, parameter_extractor):
 * picks the model, streams, counts tokens into the node and the run, and turns "no model" into a
 * clear failure instead of a crash.
 */

export interface ModelReply {
  text: string;
  usage: LlmUsage;
  finishReason: string;
  model: string;
}

export async function callModel(
  ctx: NodeContext,
  choice: LlmChoice,
  request: Omit<LlmRequest, 'signal'>,
  onText?: (text: string) => void,
): Promise<ModelReply> {
  const model = ctx.deps.llm.resolve(choice);
  if (!model) {
    const wanted = [choice.provider, choice.model].filter(Boolean).join(' / ');
    throw new WorkflowNodeError(
      'llm_unavailable',
      wanted
        ? `The language model ${wanted} is not available: configure that provider or choose another model for this node`
        : 'No language model is configured: set up an LLM provider before running workflows with model nodes',
    );
  }
  let text = '';
  let usage: LlmUsage = { inputTokens: 0, outputTokens: 0 };
  let finishReason = 'unknown';
  // The model that answered: the fallback's own when the chosen one failed.
  let answeredBy = `${model.provider}:${model.modelId}`;
  for await (const event of model.stream({
    ...request,
    messages: normalizeMessages(request.messages),
    signal: ctx.signal,
  })) {
    if (event.type === 'text') {
      text += event.text;
      onText?.(event.text);
    } else if (event.type === 'finish') {
      usage = event.usage;
      finishReason = event.finishReason;
      answeredBy = `${event.provider}:${event.model}`;
    }
  }
  ctx.signal.throwIfAborted();
  ctx.addUsage(usage);
  return { text, usage, finishReason, model: answeredBy };
}

/**
 * Chat history from a variable, in the shape every provider accepts: only user/assistant turns
 * with text, starting with the user, alternating (consecutive turns of one role are joined).
 */
export function normalizeMessages(messages: readonly LlmMessage[]): LlmMessage[] {
  const out: LlmMessage[] = [];
  for (const m of messages) {
    if (out.length === 0 && m.role !== 'user') continue;
    const last = out.at(-1);
    if (last && last.role === m.role) last.content = `${last.content}\n\n${m.content}`;
    else out.push({ role: m.role, content: m.content });
  }
  return out;
}

/** Reads a variable as chat messages, dropping anything that is not a `{ role, content }` turn. */
export function toMessages(value: unknown): LlmMessage[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((m): LlmMessage[] => {
    if (m === null || typeof m !== 'object') return [];
    const { role, content } = m as { role?: unknown; content?: unknown };
    if ((role !== 'user' && role !== 'assistant') || typeof content !== 'string' || content.trim() === '') return [];
    return [{ role, content }];
  });
}
