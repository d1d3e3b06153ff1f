// After every test file: each response any test app gave must match the OpenAPI document the service publishes.
import { contractViolations, toClose } from './contract';

afterAll(async () => {
  await Promise.all(toClose.splice(0).map((close) => close()));
  expect(contractViolations).toEqual([]);
});
