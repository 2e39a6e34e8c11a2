import { describe, expect, it } from 'vitest';
import { graphConfigJsonSchema, graphModes } from '../src/index.js';

describe('graphConfigJsonSchema', () => {
  const schema = graphConfigJsonSchema as {
    $schema: string;
    type: string;
    additionalProperties: boolean;
    properties: Record<string, Record<string, unknown>>;
  };

  it('is a draft 2020-12 object schema with exactly the input options', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.type).toBe('object');
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual([
      '$schema',
      'mode',
      'captureSizes',
      'maxCaptureSize',
      'maxNumSplits',
      'numWarmups',
      'fullCudaGraph',
    ]);
  });

  it('carries the same rules and defaults as resolveGraphConfig', () => {
    expect(schema.properties.mode).toMatchObject({
      type: 'string',
      enum: [...graphModes],
      default: 'full_and_piecewise',
    });
    expect(schema.properties.captureSizes).toMatchObject({
      type: 'array',
      items: { type: 'integer', minimum: 1, maximum: 2147483647 },
      maxItems: 4096,
    });
    expect(schema.properties.maxCaptureSize).toMatchObject({ type: 'integer', minimum: 1, maximum: 2147483647 });
    expect(schema.properties.maxNumSplits).toMatchObject({ type: 'integer', minimum: 1, maximum: 256, default: 32 });
    expect(schema.properties.numWarmups).toMatchObject({ type: 'integer', minimum: 0, maximum: 100, default: 1 });
    expect(schema.properties.fullCudaGraph).toMatchObject({ type: 'boolean', deprecated: true });
    for (const property of Object.values(schema.properties)) expect(typeof property.description).toBe('string');
  });

  it('is JSON-serialisable and deeply frozen', () => {
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
    expect(Object.isFrozen(schema)).toBe(true);
    expect(Object.isFrozen(schema.properties.mode)).toBe(true);
  });
});
