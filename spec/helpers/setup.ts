// Loaded once before every spec file (see .mocharc.json).
// An unhandled rejection or uncaught exception anywhere fails the run instead of passing silently.
process.on('unhandledRejection', (reason) => {
  throw reason instanceof Error ? reason : new Error(String(reason));
});
