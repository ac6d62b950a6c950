/** The OpenAI mock of the tests as its own process, for benchmarks: prints `listening <baseURL>`. */
import { startMockOpenAI } from '../test/support/mock-openai.ts';

const mock = await startMockOpenAI();
console.log(`listening ${mock.url}`);
process.on('SIGTERM', () => void mock.close().then(() => process.exit(0)));
