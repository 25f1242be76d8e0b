import { setDefaultTimeout } from 'bun:test'

// Tests here start real servers, a browser and a model emulator: 5 s (bun's default) is too tight
// on a busy 2-core machine. A test that hangs still fails, after 20 s.
setDefaultTimeout(20_000)
