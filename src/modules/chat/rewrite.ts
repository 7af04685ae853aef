import { complete } from '../../providers/llm/complete.ts';
import type { LlmCompletion, LlmModel } from '../../providers/llm/spec.ts';
import { fitHistory, type HistoryMessage } from './prompt.ts';

/**
 * Turns a follow-up ("and how long does that take?") into a standalone search query ("how long
 * does a refund take") using the conversation so far, because retrieval sees only the query and
 * a follow-up alone rarely finds its passages. Only run when the session has history and an LLM
 * is configured; the rewritten text is used for search, never shown as the question.
 */

export const REWRITE_SYSTEM_PROMPT = `You rewrite the last question of a conversation into a standalone search query for a document search engine.
- Resolve pronouns and references ("it", "that", "the second one", omitted subjects) using the conversation.
- Keep names, numbers and technical terms exactly, and keep the language of the last question.
- Do not answer the question and do not add facts.
- Reply with the query only, on one line, without quotes or labels.`;

/** History given to the rewriter: the last exchanges, within this many (estimated) tokens. */
const REWRITE_HISTORY_BUDGET = 1_200;
/** Each earlier message is cut to this many characters for the rewriter. */
const REWRITE_MESSAGE_CHARS = 600;
const MAX_QUERY_CHARS = 1_000;

export interface RewriteResult {
  query: string;
  completion: LlmCompletion;
}

export async function rewriteQuery(
  model: LlmModel,
  history: readonly HistoryMessage[],
  question: string,
  signal?: AbortSignal,
): Promise<RewriteResult> {
  const recent = fitHistory(
    history.map((m) => ({ role: m.role, content: clip(m.content, REWRITE_MESSAGE_CHARS) })),
    REWRITE_HISTORY_BUDGET,
  );
  const conversation = recent.map((m) => `${m.role === 'user' ? 'User' : 'Assistant'}: ${m.content}`).join('\n');
  const completion = await complete(model, {
    system: REWRITE_SYSTEM_PROMPT,
    messages: [
      {
        role: 'user',
        content: `<conversation>\n${conversation}\n</conversation>\n\nLast question: ${question}\n\nStandalone search query:`,
      },
    ],
    temperature: 0,
    maxTokens: 200,
    ...(signal ? { signal } : {}),
  });
  return { query: cleanQuery(completion.text) || question, completion };
}

/** The first non-empty line, without a label or surrounding quotes. */
export function cleanQuery(text: string): string {
  const line =
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '') ?? '';
  const unlabelled = line.replace(/^(standalone )?(search )?query\s*:\s*/i, '');
  const unquoted = unlabelled.replace(/^["'“”‘’「」]+|["'“”‘’「」]+$/g, '').trim();
  return unquoted.slice(0, MAX_QUERY_CHARS);
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
