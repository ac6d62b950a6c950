/**
 * Tests that need an external service (PostgreSQL, clamd, Verdaccio, a Python environment) call
 * `requireService`. Locally a missing service skips the test with the reason; under
 * MODELPLANE_REQUIRE_SERVICES=1 (set by .ci/run) it fails instead, so CI cannot pass by skipping.
 */
export interface ServiceCheck {
  available: boolean;
  /** Why it is not available, and how to make it so. */
  reason?: string;
}

export const servicesRequired = process.env.MODELPLANE_REQUIRE_SERVICES === '1';

export async function requireService(
  name: string,
  probe: () => Promise<ServiceCheck> | ServiceCheck,
): Promise<boolean> {
  let check: ServiceCheck;
  try {
    check = await probe();
  } catch (error) {
    check = { available: false, reason: (error as Error).message };
  }
  if (check.available) return true;
  const message = `service ${name} is not available: ${check.reason ?? 'no reason given'}`;
  if (servicesRequired) throw new Error(`${message} (MODELPLANE_REQUIRE_SERVICES=1 makes this a failure)`);
  console.warn(`skipping: ${message}`);
  return false;
}
