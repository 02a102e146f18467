// No build step: Directus loads this file, which is the source itself.
export { default } from '../src/index.js';
