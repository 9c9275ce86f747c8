// Vite finds its configuration through a default export; the configuration itself lives in
// build.ts, which `npm start` uses.
import { viteConfig } from './build.ts';

export default viteConfig;
