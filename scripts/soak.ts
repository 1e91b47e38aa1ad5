/** `npm run soak`: see test/soak/cli.ts. Exits by itself once the soak is judged (stray timers of a hung session must not keep it alive). */
import { main } from '../test/soak/cli.js';

process.exit(await main(process.argv.slice(2)));
