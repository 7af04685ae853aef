import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectRun, runWorkflow } from '../executor.ts';
import { compileWorkflow, createScriptedLlm, testDeps } from '../testing.ts';
import { extractJsonObject } from './parameter-extractor.ts';

const wf = compileWorkflow({
  nodes: [
    { id: 'start', type: 'start', data: {} },
    {
      id: 'extract',
      type: 'parameter_extractor',
      data: {
        text: '{{start.message}}',
        parameters: [
          { name: 'city', type: 'string', required: true, description: 'destination city' },
          { name: 'nights', type: 'number', required: true },
          { name: 'breakfast', type: 'boolean' },
          { name: 'tier', type: 'string', enum: ['basic', 'premium'] },
          { name: 'guests', type: 'array[string]' },
        ],
      },
    },
    {
      id: 'end',
      type: 'end',
      data: { answer: '{{extract.city}}/{{extract.nights}}/{{extract.breakfast}}/{{extract.tier}}/{{extract.guests}}' },
    },
  ],
  edges: [
    { source: 'start', target: 'extract' },
    { source: 'extract', target: 'end' },
  ],
});

describe('parameter_extractor node', () => {
  it('fills typed parameters from the JSON reply (numbers in text accepted, absent ones null)', async () => {
    const llm = createScriptedLlm(() => 'Sure! ```json\n{"city": "Seoul", "nights": "3", "breakfast": true}\n```');
    const { result } = await collectRun(
      runWorkflow(wf, { botId: 'b', message: '3 nights in Seoul' }, testDeps({ llm })),
    );
    assert.equal(result.answer, 'Seoul/3/true//');
    assert.deepEqual(result.trace.nodes[1]?.outputs, {
      city: 'Seoul',
      nights: 3,
      breakfast: true,
      tier: null,
      guests: null,
    });
    assert.equal(llm.requests.length, 1);
    assert.match(llm.requests[0]?.system ?? '', /"required":\["city","nights"\]/);
    assert.match(llm.requests[0]?.system ?? '', /"tier":\{"type":"string","enum":\["basic","premium"\]\}/);
  });

  it('asks once for a repair, listing the problems', async () => {
    const llm = createScriptedLlm((_req, call) =>
      call === 0
        ? '{"city": "Busan", "tier": "gold"}'
        : '{"city": "Busan", "nights": 2, "tier": "premium", "guests": ["A", "B"]}',
    );
    const { result } = await collectRun(runWorkflow(wf, { botId: 'b', message: 'Busan' }, testDeps({ llm })));
    assert.equal(result.answer, 'Busan/2//premium/["A","B"]');
    assert.equal(llm.requests.length, 2);
    const repair = llm.requests[1]?.messages ?? [];
    assert.deepEqual(
      repair.map((m) => m.role),
      ['user', 'assistant', 'user'],
    );
    assert.match(repair[2]?.content ?? '', /nights: .*expected number/);
    assert.match(repair[2]?.content ?? '', /tier: /);
    assert.deepEqual(result.trace.nodes[1]?.details, { repaired: true });
  });

  it('fails after one unsuccessful repair', async () => {
    const llm = createScriptedLlm(() => 'I cannot do that.');
    const { result } = await collectRun(runWorkflow(wf, { botId: 'b', message: 'x' }, testDeps({ llm })));
    assert.equal(result.error?.code, 'extraction_failed');
    assert.equal(result.error?.node_id, 'extract');
    assert.match(result.error?.message ?? '', /no JSON object/);
    assert.equal(llm.requests.length, 2);
  });

  it('finds the first JSON object in a reply', () => {
    assert.deepEqual(extractJsonObject('x {"a": "}{", "b": {"c": 1}} y {"d": 2}'), { a: '}{', b: { c: 1 } });
    assert.deepEqual(extractJsonObject('{broken} then {"ok": true}'), { ok: true });
    assert.equal(extractJsonObject('none'), undefined);
  });
});
