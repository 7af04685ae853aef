import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  lookupReference,
  parseSingleReference,
  parseTemplate,
  referencesIn,
  renderTemplate,
  resolveValue,
  VariableScope,
} from './variables.ts';

describe('variables', () => {
  it('parses references with fields and indices, and reports name-like mistakes', () => {
    const { parts, problems } = parseTemplate(
      'Hi {{ start.message }}, see {{k-1.sources.0.filename}} {{query}} {{"a":1}}',
    );
    assert.deepEqual(
      parts.map((p) => (p.kind === 'ref' ? [p.ref.nodeId, ...p.ref.path] : p.text)),
      ['Hi ', ['start', 'message'], ', see ', ['k-1', 'sources', '0', 'filename'], ' {{query}} {{"a":1}}'],
    );
    assert.deepEqual(
      problems.map((p) => p.raw),
      ['{{query}}'],
    );
    assert.deepEqual(
      referencesIn('{{a.b}}{{a.}}{{c.d.e}}').map((r) => r.raw),
      ['{{a.b}}', '{{c.d.e}}'],
    );
    assert.equal(parseSingleReference(' {{a.b}} ')?.nodeId, 'a');
    assert.equal(parseSingleReference('{{a.b}} and more'), undefined);
  });

  it('looks values up through child scopes without following inherited properties', () => {
    const root = new VariableScope();
    root.set('n', { list: [{ x: 1 }], text: 'hi', obj: {} });
    const child = root.child();
    child.set('it', { item: 'apple' });
    const ref = (s: string) => parseSingleReference(s) ?? assert.fail(s);
    assert.equal(lookupReference(child, ref('{{n.list.0.x}}')), 1);
    assert.equal(lookupReference(child, ref('{{it.item}}')), 'apple');
    assert.equal(lookupReference(root, ref('{{it.item}}')), undefined);
    assert.equal(lookupReference(child, ref('{{n.obj.constructor}}')), undefined);
    assert.equal(lookupReference(child, ref('{{n.obj.__proto__}}')), undefined);
    assert.equal(lookupReference(child, ref('{{n.list.x}}')), undefined);
    assert.equal(renderTemplate('{{n.text}} {{n.list}} [{{n.missing}}] {{ghost.x}}', child), 'hi [{"x":1}] [] ');
    assert.deepEqual(resolveValue('{{n.list}}', child), [{ x: 1 }]);
    assert.equal(resolveValue('count: {{n.list.0.x}}', child), 'count: 1');
  });
});
