// Copies the preview page's static assets next to the compiled emulator (tsc copies only TypeScript).
import { cpSync } from 'node:fs';

cpSync('src/emulator/preview/assets', 'dist/emulator/preview/assets', { recursive: true });
