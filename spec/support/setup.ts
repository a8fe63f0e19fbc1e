// Global test setup: quiet logs unless asked for, so failures stay readable.
process.env.CAUSEWAY_LOG_LEVEL ??= process.env.TEST_LOG_LEVEL ?? 'error';
