import { z } from 'zod';
import { defineNode } from '../node-definition.ts';
import { isEmptyValue, type VarType } from '../value-types.ts';

const AggregatorConfig = z.object({
  /** References in order of preference; typically one per branch before a join. */
  variables: z.array(z.string().min(1).max(200)).min(1).max(20),
});

/** The declared types of the inputs that are known (not `any`). */
function knownTypes(variables: readonly string[], typeOf: (ref: string) => VarType): VarType[] {
  return [...new Set(variables.map(typeOf).filter((t) => t !== 'any'))];
}

/**
 * The first non-empty of several variables — how branches join back into one value (the branch
 * not taken was skipped, so its outputs are empty). All inputs must have the same type.
 */
export const variableAggregatorNode = defineNode({
  type: 'variable_aggregator',
  description: 'The first non-empty of several variables (joins branches)',
  configSchema: AggregatorConfig,
  outputs: (c, types) => {
    const known = knownTypes(c.variables, (r) => types.typeOf(r));
    return { output: known.length === 1 ? (known[0] as VarType) : 'any', index: 'number' };
  },
  uses: (c) => c.variables.map((text, i) => ({ field: `variables[${i}]`, kind: 'reference' as const, text })),
  checkTypes(c, types) {
    const known = knownTypes(c.variables, (r) => types.typeOf(r));
    return known.length > 1
      ? [{ field: 'variables', message: `All variables must have one type; these are ${known.join(', ')}` }]
      : [];
  },
  async run(config, ctx) {
    const values = config.variables.map((v) => ctx.resolve(v));
    const index = values.findIndex((v) => !isEmptyValue(v));
    return { outputs: { output: index === -1 ? null : values[index], index } };
  },
});
