/**
 * Waits until `done` is called or `ms` pass, whichever comes first: `arm` receives the `done` to
 * call (a drain's "last call ended"). The timer does not keep the process alive.
 */
export function doneOrAfter(ms: number, arm: (done: () => void) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    arm(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
