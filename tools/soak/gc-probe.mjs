// Loaded into the soaked server with `node --expose-gc --import` (never by the product): answers a
// 'heap-after-gc' message on the IPC channel with heapUsed right after a full collection, so the
// soak compares live heap rather than wherever the collector happened to be when sampled.
if (process.send && typeof globalThis.gc === 'function') {
  process.on('message', (message) => {
    if (message !== 'heap-after-gc') return;
    globalThis.gc();
    process.send({ heapAfterGc: process.memoryUsage().heapUsed });
  });
  // The listener would otherwise keep the server alive after it means to exit.
  process.channel?.unref();
}
