import { routerStrategyConformance } from '@modelplane/plugin-sdk';
import { describe, it } from 'vitest';
import { createStrategies } from '../src/index.ts';

for (const strategy of Object.values(createStrategies())) {
  describe(`${strategy.id} passes the router-strategy conformance kit`, () => {
    for (const check of routerStrategyConformance(strategy)) it(check.name, check.run);
  });
}
