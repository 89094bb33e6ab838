/**
 * Polling for a condition that has no event to wait on (a row in another
 * process's database, a job's status over HTTP): checks every `intervalMs`
 * until `check` returns something other than undefined, and returns it. No
 * deadline of its own: the test's timeout bounds it, so a busy machine makes
 * the test slower, never wrong.
 */
export async function pollUntil<T>(check: () => T | undefined | Promise<T | undefined>, intervalMs = 50): Promise<T> {
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
