import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineNode } from '../node-definition.ts';
import { createNodeRegistry, describeNodeTypes, nodeRegistry } from './registry.ts';

describe('node registry', () => {
  it('lists every node type once, and no code node', () => {
    assert.deepEqual([...nodeRegistry.keys()].sort(), [
      'answer',
      'condition',
      'end',
      'http_request',
      'iteration',
      'knowledge',
      'llm',
      'parameter_extractor',
      'question_classifier',
      'start',
      'template',
      'variable_aggregator',
    ]);
    assert.throws(
      () => createNodeRegistry([...nodeRegistry.values(), nodeRegistry.get('llm') ?? assert.fail()]),
      /twice/,
    );
  });

  it('describes node types for an editor, with a JSON Schema of each configuration', () => {
    const described = new Map(describeNodeTypes().map((d) => [d.type, d]));
    const llm = described.get('llm') ?? assert.fail('llm is described');
    assert.equal(llm.streams, 'text');
    assert.equal(llm.branching, false);
    assert.deepEqual((llm.config_schema as { required?: string[] }).required, ['prompt']);
    assert.equal(described.get('condition')?.branching, true);
    assert.equal(described.get('start')?.role, 'start');
    const knowledge = described.get('knowledge') ?? assert.fail('knowledge is described');
    const props = (knowledge.config_schema as { properties: Record<string, { enum?: string[] }> }).properties;
    assert.deepEqual(props.mode?.enum, ['vector', 'fulltext', 'hybrid']);
  });

  it('a custom registry can add a node type', () => {
    const shout = defineNode({
      type: 'shout',
      description: 'upper-cases text',
      configSchema: (nodeRegistry.get('template') ?? assert.fail()).configSchema,
      outputs: () => ({ text: 'string' }),
      uses: () => [],
      run: async (config, ctx) => ({
        outputs: { text: ctx.render((config as { template: string }).template).toUpperCase() },
      }),
    });
    const registry = createNodeRegistry([...nodeRegistry.values(), shout]);
    assert.equal(registry.get('shout'), shout);
  });
});
