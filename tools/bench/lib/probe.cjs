// Preloaded (`node --expose-gc -r probe.cjs`) into every server the bench
// starts, peers and AdmitOne alike, so that all of them are measured the same
// way without any bench code in the services: over the IPC channel the bench
// asks for CPU time and memory (after a forced GC) and gets them back.
'use strict';
if (typeof process.send === 'function') {
  process.on('message', (message) => {
    if (!message || typeof message.probe !== 'number') return;
    if (message.gc && typeof global.gc === 'function') {
      global.gc();
      global.gc();
    }
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    process.send({
      probe: message.probe,
      cpuMicros: cpu.user + cpu.system,
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      external: mem.external,
      arrayBuffers: mem.arrayBuffers,
    });
  });
  // The channel must not keep a service alive once it wants to exit.
  process.channel?.unref();
}
