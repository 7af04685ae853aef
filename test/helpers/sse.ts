/** One Server-Sent Event as received, with the time it arrived (ms, performance.now()). */
export interface ReceivedEvent {
  event: string;
  data: unknown;
  at: number;
}

/** Splits an SSE body into events (`event:` + JSON `data:`); comments are skipped. */
export function parseSse(body: string): ReceivedEvent[] {
  const out: ReceivedEvent[] = [];
  for (const block of body.split('\n\n')) {
    const parsed = parseBlock(block, 0);
    if (parsed) out.push(parsed);
  }
  return out;
}

function parseBlock(block: string, at: number): ReceivedEvent | undefined {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
  }
  if (data.length === 0) return undefined;
  return { event, data: JSON.parse(data.join('\n')), at };
}

/**
 * Reads an SSE response as it arrives, calling `onEvent` for each event (stamped with its arrival
 * time); resolves with every event when the stream ends.
 */
export async function readSse(response: Response, onEvent?: (event: ReceivedEvent) => void): Promise<ReceivedEvent[]> {
  if (!response.body) return [];
  const events: ReceivedEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const parsed = parseBlock(buffer.slice(0, end), performance.now());
      buffer = buffer.slice(end + 2);
      if (parsed) {
        events.push(parsed);
        onEvent?.(parsed);
      }
      end = buffer.indexOf('\n\n');
    }
  }
  return events;
}
